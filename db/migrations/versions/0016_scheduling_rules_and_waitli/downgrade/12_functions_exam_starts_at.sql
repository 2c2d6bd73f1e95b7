-- Undo db/functions/exam_starts_at.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.exam_starts_at;
