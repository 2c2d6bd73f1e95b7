-- Undo db/functions/check_student_caller.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.check_student_caller;
