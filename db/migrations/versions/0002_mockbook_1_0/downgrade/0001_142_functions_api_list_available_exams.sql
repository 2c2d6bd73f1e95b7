-- Undo db/functions/api/list_available_exams.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.list_available_exams;
