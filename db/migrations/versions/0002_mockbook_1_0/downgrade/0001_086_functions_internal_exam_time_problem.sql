-- Undo db/functions/internal/exam_time_problem.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.exam_time_problem;
