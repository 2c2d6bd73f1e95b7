-- Undo db/functions/internal/pulled_int.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pulled_int;
