-- Undo db/functions/internal/plpgsql_check_pragma.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.plpgsql_check_pragma;
