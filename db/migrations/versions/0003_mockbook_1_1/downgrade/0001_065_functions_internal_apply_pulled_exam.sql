-- Undo db/functions/internal/apply_pulled_exam.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.apply_pulled_exam;
