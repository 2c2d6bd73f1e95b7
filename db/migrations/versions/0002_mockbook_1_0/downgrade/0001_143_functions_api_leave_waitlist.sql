-- Undo db/functions/api/leave_waitlist.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.leave_waitlist;
