-- Undo db/functions/internal/pulled_date.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pulled_date;
