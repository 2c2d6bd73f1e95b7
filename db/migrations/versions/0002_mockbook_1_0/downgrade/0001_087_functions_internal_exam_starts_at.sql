-- Undo db/functions/internal/exam_starts_at.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.exam_starts_at;
