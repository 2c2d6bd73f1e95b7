-- Undo db/functions/internal/insert_pulled_exam.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.insert_pulled_exam;
