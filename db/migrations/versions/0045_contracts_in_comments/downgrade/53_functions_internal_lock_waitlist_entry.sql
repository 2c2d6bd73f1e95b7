-- Undo db/functions/internal/lock_waitlist_entry.sql (moved).
-- Frozen copy of db/functions/lock_waitlist_entry.sql (changed).
/**
 * mockbook_internal.lock_waitlist_entry(p_id bigint) -> waitlist_entries (the locked row, or NULL)
 *
 * A waitlist place ranks with the bookings in the lock order (after its contact, before any
 * exam; see mockbook_internal.lock_contact); several: ascending id. For leave_waitlist and
 * accept_offer, which change one student's place. A free row is locked at once (SKIP LOCKED,
 * no subtransaction); a row held by another transaction (the push's write-back, a job) is
 * waited for at most mockbook.lock_timeout (default 2s), then BUSY. Returns NULL when there is
 * no such place (the caller names the error).
 * Errors: BUSY. Locks: the place's row, FOR UPDATE.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.lock_waitlist_entry(p_id bigint)
RETURNS hubspot_sync.waitlist_entries
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
-- (SET lock_timeout: the timeout set below bounds only this function's own wait, as the
-- clause restores the caller's value when the function returns. Without it the timeout
-- lasted for the rest of the transaction, and a later wait ended in a raw 55P03, not BUSY.)
SET lock_timeout = 0
AS $$
DECLARE
    v_place hubspot_sync.waitlist_entries;
BEGIN
    SELECT * INTO v_place FROM hubspot_sync.waitlist_entries
    WHERE id = p_id
    FOR UPDATE SKIP LOCKED;
    IF v_place.id IS NOT NULL THEN
        RETURN v_place;
    END IF;
    PERFORM set_config('lock_timeout',
                       coalesce(nullif(current_setting('mockbook.lock_timeout', true), ''), '2s'),
                       true);
    BEGIN
        SELECT * INTO v_place FROM hubspot_sync.waitlist_entries
        WHERE id = p_id
        FOR UPDATE;
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN  -- 40P01: a cycle with a
        -- transaction outside the lock order (ad-hoc SQL): the same answer as a long wait
        PERFORM mockbook_internal.raise_error('BUSY',
            format('Waitlist place %s is busy (lock wait exceeded).', p_id));
    END;
    RETURN v_place;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_waitlist_entry(bigint) IS
'Internal: locks a waitlist place (ranked with the bookings: after its contact, before any exam; BUSY after mockbook.lock_timeout); NULL when there is none.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_waitlist_entry(bigint) FROM PUBLIC, anon, authenticated, service_role;
