-- Undo db/functions/internal/booking_code_problem.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.booking_code_problem;
