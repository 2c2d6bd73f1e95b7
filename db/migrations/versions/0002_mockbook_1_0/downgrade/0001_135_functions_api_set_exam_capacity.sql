-- Undo db/functions/api/set_exam_capacity.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.set_exam_capacity;
