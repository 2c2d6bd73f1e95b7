-- Undo db/functions/internal/exam_unbookable_reason.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.exam_unbookable_reason;
-- frozen: versions/0002_mockbook_1_0/upgrade/0045_077_functions_internal_exam_unbookable_reason.sql sha256:bbbb941062da176d5e1899d263d5b76e63e649d174ce1cf266de24ce688ca59d
