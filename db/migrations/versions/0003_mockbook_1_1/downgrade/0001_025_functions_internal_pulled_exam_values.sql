-- Undo db/functions/internal/pulled_exam_values.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pulled_exam_values;
