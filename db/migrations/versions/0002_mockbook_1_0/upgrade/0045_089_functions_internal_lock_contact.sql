-- Frozen copy of db/functions/internal/lock_contact.sql (new).
/**
 * Why: contacts are first in the one lock order (contacts, then bookings and waitlist places,
 * then exams last: docs/rpc.md "Lock order"), and every function locks a contact through here,
 * with the bounded wait of mockbook_internal.wait_for_lock, so no call waits without a bound.
 * The contract is the COMMENT ON FUNCTION below.
 */
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
'Internal: locks a contact row (first in the lock order contact, booking, exam; BUSY after mockbook.lock_timeout).

Lock order, everywhere (docs/rpc.md "Locks"): contact rows first (several: ascending id),
then booking rows (mockbook_internal.lock_booking; several: ascending id), then exam rows last
(mockbook_internal.take_seat / release_seat / lock_exam; several: ascending hubspot_id).
A free row is locked at once by a plain SELECT ... FOR NO KEY UPDATE SKIP LOCKED (no
subtransaction, so the transaction''s later UPDATE of the row needs no MultiXact); only a row
held by another transaction is waited for, at most mockbook.lock_timeout (default 2s), in a
subtransaction that turns the timeout into BUSY.
Errors: CONTACT_NOT_FOUND, BUSY. Locks: the contact row, FOR NO KEY UPDATE.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_contact(uuid) FROM PUBLIC, anon, authenticated, service_role;
