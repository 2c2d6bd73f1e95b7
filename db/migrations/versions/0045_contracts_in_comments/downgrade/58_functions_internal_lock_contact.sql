-- Undo db/functions/internal/lock_contact.sql (moved).
-- Frozen copy of db/functions/lock_contact.sql (changed).
/**
 * mockbook_internal.lock_contact(p_contact_id) -> hubspot_contact_credits (the locked row)
 *
 * Lock order, everywhere (docs/rpc.md "Locks"): contact rows first (several: ascending id),
 * then booking rows (mockbook_internal.lock_booking; several: ascending id), then exam rows last
 * (mockbook_internal.take_seat / release_seat / lock_exam; several: ascending hubspot_id).
 * A free row is locked at once by a plain SELECT ... FOR NO KEY UPDATE SKIP LOCKED (no
 * subtransaction, so the transaction's later UPDATE of the row needs no MultiXact); only a row
 * held by another transaction is waited for, at most mockbook.lock_timeout (default 2s), in a
 * subtransaction that turns the timeout into BUSY.
 * Errors: CONTACT_NOT_FOUND, BUSY. Locks: the contact row, FOR NO KEY UPDATE.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.lock_contact(p_contact_id uuid)
RETURNS hubspot_sync.hubspot_contact_credits
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
-- (SET lock_timeout: the timeout set below bounds only this function's own wait, as the
-- clause restores the caller's value when the function returns. Without it the timeout
-- lasted for the rest of the transaction, and a later wait ended in a raw 55P03, not BUSY.)
SET lock_timeout = 0
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
BEGIN
    SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits
    WHERE id = p_contact_id
    FOR NO KEY UPDATE SKIP LOCKED;
    IF v_contact.id IS NOT NULL THEN
        RETURN v_contact;
    END IF;
    PERFORM set_config('lock_timeout',
                       coalesce(nullif(current_setting('mockbook.lock_timeout', true), ''), '2s'),
                       true);
    BEGIN
        SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits
        WHERE id = p_contact_id
        FOR NO KEY UPDATE;
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN  -- 40P01: a cycle with a
        -- transaction outside the lock order (ad-hoc SQL): the same answer as a long wait
        PERFORM mockbook_internal.raise_error('BUSY',
            format('Contact %s is busy (lock wait exceeded).', p_contact_id));
    END;
    IF v_contact.id IS NULL THEN
        PERFORM mockbook_internal.raise_error('CONTACT_NOT_FOUND', format('No contact %s.', p_contact_id));
    END IF;
    RETURN v_contact;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_contact(uuid) IS
'Internal: locks a contact row (first in the lock order contact, booking, exam; BUSY after mockbook.lock_timeout).';
REVOKE ALL ON FUNCTION mockbook_internal.lock_contact(uuid) FROM PUBLIC, anon, authenticated, service_role;
