-- Undo db/functions/check_exam_for_student.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.check_exam_for_student;
