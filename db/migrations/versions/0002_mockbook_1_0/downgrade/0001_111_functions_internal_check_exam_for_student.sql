-- Undo db/functions/internal/check_exam_for_student.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.check_exam_for_student;
