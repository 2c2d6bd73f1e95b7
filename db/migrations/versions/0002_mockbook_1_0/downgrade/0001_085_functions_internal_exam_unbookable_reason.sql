-- Undo db/functions/internal/exam_unbookable_reason.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.exam_unbookable_reason;
