-- Undo db/functions/internal/find_exam.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.find_exam;
