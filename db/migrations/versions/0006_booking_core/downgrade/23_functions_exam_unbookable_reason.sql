-- Undo db/functions/exam_unbookable_reason.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.exam_unbookable_reason;
