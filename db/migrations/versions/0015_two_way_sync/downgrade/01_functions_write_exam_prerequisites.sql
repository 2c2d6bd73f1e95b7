-- Undo db/functions/write_exam_prerequisites.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.write_exam_prerequisites;
