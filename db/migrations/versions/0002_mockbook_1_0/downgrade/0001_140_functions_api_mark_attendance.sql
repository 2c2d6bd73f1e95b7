-- Undo db/functions/api/mark_attendance.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.mark_attendance;
