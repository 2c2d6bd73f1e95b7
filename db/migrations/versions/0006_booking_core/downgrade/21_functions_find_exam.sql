-- Undo db/functions/find_exam.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.find_exam;
