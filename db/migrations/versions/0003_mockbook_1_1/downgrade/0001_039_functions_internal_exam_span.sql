-- Undo db/functions/internal/exam_span.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.exam_span;
