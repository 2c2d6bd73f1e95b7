-- Undo db/functions/internal/exam_refusal.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.exam_refusal;
