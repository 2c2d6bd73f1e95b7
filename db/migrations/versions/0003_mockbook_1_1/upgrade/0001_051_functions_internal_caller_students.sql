-- Frozen copy of db/functions/internal/caller_students.sql (new).
-- Why: a student's lookups read the student's own rows: another's name costs what nobody's does.
CREATE OR REPLACE FUNCTION mockbook_internal.caller_students()
RETURNS text[]
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_actor constant text := mockbook_internal.request_actor();
    v_email text;
BEGIN
    IF v_actor IS NULL OR v_actor NOT LIKE 'user:%' THEN
        RETURN NULL;  -- an admin's JWT, the service-role key, no claims: everything
    END IF;
    v_email := nullif(btrim(nullif(pg_catalog.current_setting('request.jwt.claims', true),
                                   '')::jsonb ->> 'email'), '');
    -- same_email's comparison, by the index on it (idx_contact_credits_email_key)
    RETURN coalesce(
        (SELECT array_agg(c.student_id ORDER BY c.student_id)
         FROM hubspot_sync.hubspot_contact_credits AS c
         WHERE lower(btrim(c.email, E' \t\r\n')) = lower(btrim(v_email, E' \t\r\n'))),
        '{}'::text[]);
END
$$;

COMMENT ON FUNCTION mockbook_internal.caller_students() IS
'Internal: the students whose things the request may see: NULL for all (an admin''s JWT, the
service-role key, no claims), else those whose contact email is the JWT''s (same_email; none
without an email claim). Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.caller_students() FROM PUBLIC, anon, authenticated, service_role;
