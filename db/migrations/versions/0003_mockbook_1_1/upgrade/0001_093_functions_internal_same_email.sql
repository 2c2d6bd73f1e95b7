-- Frozen copy of db/functions/internal/same_email.sql (new).
-- Why: a student is found by their email wherever it is compared (the booking's arguments, the
-- JWT's claim), and a stored address with capitals or a stray space must not lock them out.
CREATE OR REPLACE FUNCTION mockbook_internal.same_email(p_stored text, p_given text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    RETURN lower(btrim(p_stored, E' \t\r\n')) = lower(btrim(p_given, E' \t\r\n'));
END
$$;

COMMENT ON FUNCTION mockbook_internal.same_email(text, text) IS
'Internal: whether two email addresses are the same for mockbook: compared in lower case, spaces,
tabs and line breaks at either end ignored (NULL when either is NULL). Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.same_email(text, text)
    FROM PUBLIC, anon, authenticated, service_role;
