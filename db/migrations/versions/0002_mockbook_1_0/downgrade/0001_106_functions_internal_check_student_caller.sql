-- Undo db/functions/internal/check_student_caller.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.check_student_caller;
