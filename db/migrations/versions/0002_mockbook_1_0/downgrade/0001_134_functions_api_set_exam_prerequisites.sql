-- Undo db/functions/api/set_exam_prerequisites.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.set_exam_prerequisites;
