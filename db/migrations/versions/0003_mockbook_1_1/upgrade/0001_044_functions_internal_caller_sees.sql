-- Frozen copy of db/functions/internal/caller_sees.sql (new).
-- Why: not yours = not there: every lookup a student's JWT can make filters by this one answer,
-- then answers as for nothing found, so no student learns that another's things exist.
CREATE OR REPLACE FUNCTION mockbook_internal.caller_sees(p_student_id text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_actor text := mockbook_internal.request_actor();
    v_email text;
BEGIN
    IF v_actor IS NULL OR v_actor NOT LIKE 'user:%' THEN
        RETURN true;  -- an admin's JWT, the service-role key, no claims: everything
    END IF;
    v_email := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'email';
    RETURN p_student_id IS NOT NULL AND nullif(btrim(v_email), '') IS NOT NULL
           AND EXISTS (SELECT FROM hubspot_sync.hubspot_contact_credits AS c
                       WHERE c.student_id = p_student_id
                         AND mockbook_internal.same_email(c.email, v_email));
END
$$;

COMMENT ON FUNCTION mockbook_internal.caller_sees(text) IS
'Internal: whether the request may see student p_student_id''s things: an admin''s JWT, the
service-role key or no claims always; another JWT user only their own (contact email = the JWT''s
email, same_email), never a NULL student. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.caller_sees(text) FROM PUBLIC, anon, authenticated, service_role;
