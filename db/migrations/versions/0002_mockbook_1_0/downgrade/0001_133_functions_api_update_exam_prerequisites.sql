-- Undo db/functions/api/update_exam_prerequisites.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.update_exam_prerequisites;
