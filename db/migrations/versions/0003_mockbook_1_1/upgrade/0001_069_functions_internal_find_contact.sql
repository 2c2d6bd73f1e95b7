-- Frozen copy of db/functions/internal/find_contact.sql (changed).
CREATE OR REPLACE FUNCTION mockbook_internal.find_contact(p_student_id text, p_email text)
RETURNS hubspot_sync.hubspot_contact_credits
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
BEGIN
    SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.student_id = p_student_id AND mockbook_internal.same_email(c.email, p_email);
    IF NOT FOUND THEN
        PERFORM mockbook_internal.raise_error('CONTACT_NOT_FOUND',
            format('No student %s with email %s.', p_student_id, p_email));
    END IF;
    RETURN v_contact;
END
$$;

COMMENT ON FUNCTION mockbook_internal.find_contact(text, text) IS
'Internal: the contact with this student_id and this email (same_email: any case, spaces at the ends
ignored); CONTACT_NOT_FOUND otherwise.';
REVOKE ALL ON FUNCTION mockbook_internal.find_contact(text, text) FROM PUBLIC, anon, authenticated, service_role;
