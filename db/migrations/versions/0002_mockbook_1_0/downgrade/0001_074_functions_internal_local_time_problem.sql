-- Undo db/functions/internal/local_time_problem.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.local_time_problem;
