-- Frozen copy of db/functions/internal/find_contact.sql (new).
/**
 * mockbook_internal.find_contact(p_student_id, p_email) -> hubspot_contact_credits
 *
 * Step 3 of create_booking's contract: the contact with this student_id whose email matches p_email
 * case-insensitively. Read without a lock (the booking functions lock it later with
 * mockbook_internal.lock_contact, after the exam).
 * Errors: CONTACT_NOT_FOUND (no such student, or the email does not match). Locks: none.
 */
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
    WHERE c.student_id = p_student_id AND lower(c.email) = lower(p_email);
    IF NOT FOUND THEN
        PERFORM mockbook_internal.raise_error('CONTACT_NOT_FOUND',
            format('No student %s with email %s.', p_student_id, p_email));
    END IF;
    RETURN v_contact;
END
$$;

COMMENT ON FUNCTION mockbook_internal.find_contact(text, text) IS
'Internal: the contact with this student_id and (case-insensitively) this email; CONTACT_NOT_FOUND otherwise.';
REVOKE ALL ON FUNCTION mockbook_internal.find_contact(text, text) FROM PUBLIC, anon, authenticated, service_role;
