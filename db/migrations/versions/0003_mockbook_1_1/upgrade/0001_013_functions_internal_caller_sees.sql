-- Frozen copy of db/functions/internal/caller_sees.sql (new).
-- Why: "not yours = not there": a student's JWT must learn nothing of another student's bookings,
-- keys or contact, not even that they exist, so every lookup a student can make filters by this
-- one answer and then answers as it does for nothing found.
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
'Internal: whether the request may see the things of student p_student_id: always for an admin''s
JWT, the service-role key or no claims; for any other JWT user only their own (the student whose
contact email is the JWT''s email, same_email), never for a NULL student or a JWT without email.
Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.caller_sees(text) FROM PUBLIC, anon, authenticated, service_role;
