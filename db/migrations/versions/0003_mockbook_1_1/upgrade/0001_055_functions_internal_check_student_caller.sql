-- Frozen copy of db/functions/internal/check_student_caller.sql (changed).
-- Why: who acts is decided in one place: every API function that names a student, an email, a
-- booking or an offer calls this first.
CREATE OR REPLACE FUNCTION mockbook_internal.check_student_caller(p_student_id text, p_what text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_actor constant text := mockbook_internal.request_actor();
BEGIN
    -- caller_sees's first answer read here: the service key's call costs no second call
    IF v_actor IS NULL OR v_actor NOT LIKE 'user:%' OR mockbook_internal.caller_sees(p_student_id) THEN
        RETURN;
    END IF;
    IF p_student_id IS NULL THEN
        PERFORM mockbook_internal.raise_error('FORBIDDEN',
            format('%s: the request''s JWT names %s, who is not an admin, and the call names no '
                   'student of theirs (p_student_id, or a booking or contact that exists).', p_what,
                   substr(v_actor, 6)),
            'A student''s call passes p_student_id (the booking must be theirs); admin powers need an admin''s JWT or the service-role key.');
    END IF;
    PERFORM mockbook_internal.raise_error('FORBIDDEN',
        format('%s: the request''s JWT names %s, not student %s.', p_what, substr(v_actor, 6),
               p_student_id));
END
$$;

COMMENT ON FUNCTION mockbook_internal.check_student_caller(text, text) IS
'Internal: FORBIDDEN when a non-admin JWT user calls without p_student_id or for a student whose
email is not the JWT''s (caller_sees); admins and the service-role key pass.';
REVOKE ALL ON FUNCTION mockbook_internal.check_student_caller(text, text) FROM PUBLIC, anon, authenticated, service_role;
