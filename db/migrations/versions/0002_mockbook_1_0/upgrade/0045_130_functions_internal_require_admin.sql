-- Frozen copy of db/functions/internal/require_admin.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.require_admin(p_what text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    IF mockbook_internal.request_actor() LIKE 'user:%' THEN
        PERFORM mockbook_internal.raise_error('FORBIDDEN',
            format('%s needs an admin: the request''s JWT names %s, who is not one.', p_what,
                   substr(mockbook_internal.request_actor(), 6)),
            'Call it as the student (pass p_student_id: the booking must be theirs), or with an admin''s JWT (app_metadata.role or user_role admin / super_admin), or from the server with the service-role key.');
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.require_admin(text) IS
'Internal: FORBIDDEN unless the caller may use admin powers: a JWT naming an admin, or no user (the
service-role key).';
REVOKE ALL ON FUNCTION mockbook_internal.require_admin(text) FROM PUBLIC, anon, authenticated, service_role;
