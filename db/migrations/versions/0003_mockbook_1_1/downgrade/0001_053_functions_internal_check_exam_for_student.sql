-- Undo db/functions/internal/check_exam_for_student.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.check_exam_for_student;
-- frozen: versions/0002_mockbook_1_0/upgrade/0045_051_functions_internal_check_exam_for_student.sql sha256:7f8df94e73a46034b573f84ab92838ddf374107314dfe915c73a05bee0f7815e
