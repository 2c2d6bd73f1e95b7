-- Undo db/functions/apply_pulled_exams.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.apply_pulled_exams;
