-- Undo db/functions/apply_exam_change.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.apply_exam_change;
