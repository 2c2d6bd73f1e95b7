-- Frozen copy of db/functions/internal/booking_code_problem.sql (new).
-- Why: booking references are resolved as uuid, code or HubSpot id, so a code must never look like
-- the others.
CREATE OR REPLACE FUNCTION mockbook_internal.booking_code_problem(p_code text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    IF p_code IS NULL THEN
        RETURN 'it is missing';
    ELSIF length(p_code) NOT BETWEEN 3 AND 100 THEN
        RETURN format('it has %s characters (3 to 100)', length(p_code));
    ELSIF p_code !~ '^[A-Za-z0-9][A-Za-z0-9 .,_-]*[A-Za-z0-9]$' THEN
        RETURN 'only letters A-Z, digits, space, ".", ",", "_" and "-" are allowed, beginning and ending with a letter or digit';
    ELSIF p_code ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RETURN 'it is shaped like a uuid';
    ELSIF p_code ~ '^[0-9]+$' THEN
        RETURN 'it is all digits, as HubSpot ids are';
    ELSIF upper(p_code) LIKE 'WL-%' THEN
        RETURN 'codes starting with WL- are reserved for waitlist places';
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_code_problem(text) IS
'Internal: NULL when the text is a valid booking code (3-100 of A-Z a-z 0-9 space . , _ -; letter or
digit at both ends, not uuid-shaped, not all digits, not WL-), else why not.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_code_problem(text) FROM PUBLIC, anon, authenticated, service_role;
