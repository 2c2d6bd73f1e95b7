-- Undo db/functions/internal/time_of_day.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.time_of_day;
