-- Frozen copy of db/functions/internal/lock_contact.sql (new).
-- Why: contacts are first in the one lock order (contacts, bookings and waitlist places, exams
-- last: docs/rpc.md "Lock order"); every function locks a contact here.
CREATE OR REPLACE FUNCTION mockbook_internal.lock_contact(p_contact_id uuid)
RETURNS hubspot_sync.hubspot_contact_credits
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
BEGIN
    -- a free row: locked and read by one statement; else the bounded wait, then read
    SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.id = p_contact_id FOR NO KEY UPDATE SKIP LOCKED;
    IF FOUND THEN
        RETURN v_contact;
    END IF;
    PERFORM mockbook_internal.wait_for_lock('contact', p_contact_id::text);
    SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.id = p_contact_id;
    IF v_contact.id IS NULL THEN
        PERFORM mockbook_internal.raise_error('CONTACT_NOT_FOUND', format('No contact %s.', p_contact_id));
    END IF;
    RETURN v_contact;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_contact(uuid) IS
'Internal: locks a contact row (first in the lock order contact, booking, exam; BUSY after
mockbook.lock_timeout). Errors: CONTACT_NOT_FOUND, BUSY. Locks: the contact row, FOR NO KEY UPDATE.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_contact(uuid) FROM PUBLIC, anon, authenticated, service_role;
