-- Undo db/functions/activate_due_exams.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.activate_due_exams;
