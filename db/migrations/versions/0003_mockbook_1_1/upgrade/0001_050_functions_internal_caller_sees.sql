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
    v_students constant text[] := mockbook_internal.caller_students();
BEGIN
    RETURN v_students IS NULL OR coalesce(p_student_id = ANY (v_students), false);
END
$$;

COMMENT ON FUNCTION mockbook_internal.caller_sees(text) IS
'Internal: whether the request may see student p_student_id''s things: an admin''s JWT, the
service-role key or no claims always; another JWT user only their own (caller_students: contact
email = the JWT''s email), never a NULL student. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.caller_sees(text) FROM PUBLIC, anon, authenticated, service_role;
