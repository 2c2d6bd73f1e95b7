-- Undo db/functions/internal/apply_exam_change.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.apply_exam_change;
