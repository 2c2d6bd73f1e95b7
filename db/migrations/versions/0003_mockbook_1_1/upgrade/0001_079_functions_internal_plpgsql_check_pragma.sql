-- Frozen copy of db/functions/internal/plpgsql_check_pragma.sql (new).
-- Why: record_row_change compares each table's own columns by name, which plpgsql_check
-- (make lint) cannot check on the other tables the trigger is on. A call of a function named
-- plpgsql_check_pragma with constant arguments is plpgsql_check's pragma (its README, "Pragma");
-- this one is IMMUTABLE, so a call with constant arguments is computed when the statement is
-- planned and costs nothing as the trigger runs, where the extension's own function may be
-- missing from a database and a PERFORM 'PRAGMA:...' statement started the executor at each call.
CREATE OR REPLACE FUNCTION mockbook_internal.plpgsql_check_pragma(VARIADIC p_pragmas text[])
RETURNS integer
LANGUAGE sql
IMMUTABLE
SET search_path = ''
AS $$
    SELECT 1
$$;

COMMENT ON FUNCTION mockbook_internal.plpgsql_check_pragma(text[]) IS
'Internal: plpgsql_check''s pragma (its arguments are read by plpgsql_check, not here); returns 1.
Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.plpgsql_check_pragma(text[])
    FROM PUBLIC, anon, authenticated, service_role;
