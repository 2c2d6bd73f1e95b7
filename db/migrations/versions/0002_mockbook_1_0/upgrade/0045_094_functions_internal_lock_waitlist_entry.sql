-- Frozen copy of db/functions/internal/lock_waitlist_entry.sql (new).
/**
 * Why: a waitlist place ranks with the bookings in the lock order (after its contact, before any
 * exam); leave_waitlist and accept_offer lock one here, with the bounded wait of
 * mockbook_internal.wait_for_lock.
 * The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.lock_waitlist_entry(p_id bigint)
RETURNS hubspot_sync.waitlist_entries
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_place hubspot_sync.waitlist_entries;
BEGIN
    PERFORM mockbook_internal.wait_for_lock('waitlist_entry', p_id::text);
    SELECT * INTO v_place FROM hubspot_sync.waitlist_entries WHERE id = p_id;
    RETURN v_place;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_waitlist_entry(bigint) IS
'Internal: locks a waitlist place (ranked with the bookings: after its contact, before any exam; BUSY after mockbook.lock_timeout); NULL when there is none.

A waitlist place ranks with the bookings in the lock order (after its contact, before any
exam; see mockbook_internal.lock_contact); several: ascending id. For leave_waitlist and
accept_offer, which change one student''s place. A free row is locked at once (SKIP LOCKED,
no subtransaction); a row held by another transaction (the push''s write-back, a job) is
waited for at most mockbook.lock_timeout (default 2s), then BUSY. Returns NULL when there is
no such place (the caller names the error).
Errors: BUSY. Locks: the place''s row, FOR UPDATE.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_waitlist_entry(bigint) FROM PUBLIC, anon, authenticated, service_role;
