-- Undo db/functions/internal/lock_booking.sql (moved).
-- Frozen copy of db/functions/lock_booking.sql (changed).
/**
 * mockbook_internal.lock_booking(p_booking_id uuid) -> hubspot_bookings (the locked row, or NULL)
 *
 * Second in the lock order (after the booking's contact, before any exam; see
 * mockbook_internal.lock_contact). A free row is locked at once (SKIP LOCKED, no subtransaction);
 * a row held by another transaction is waited for at most mockbook.lock_timeout (default 2s),
 * then BUSY. Returns NULL when there is no such booking (the caller names the error).
 * Errors: BUSY. Locks: the booking row, FOR UPDATE.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.lock_booking(p_booking_id uuid)
RETURNS hubspot_sync.hubspot_bookings
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
-- (SET lock_timeout: the timeout set below bounds only this function's own wait, as the
-- clause restores the caller's value when the function returns. Without it the timeout
-- lasted for the rest of the transaction, and a later wait ended in a raw 55P03, not BUSY.)
SET lock_timeout = 0
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
BEGIN
    SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings
    WHERE id = p_booking_id
    FOR UPDATE SKIP LOCKED;
    IF v_booking.id IS NOT NULL THEN
        RETURN v_booking;
    END IF;
    PERFORM set_config('lock_timeout',
                       coalesce(nullif(current_setting('mockbook.lock_timeout', true), ''), '2s'),
                       true);
    BEGIN
        SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings
        WHERE id = p_booking_id
        FOR UPDATE;
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN  -- 40P01: a cycle with a
        -- transaction outside the lock order (ad-hoc SQL): the same answer as a long wait
        PERFORM mockbook_internal.raise_error('BUSY',
            format('Booking %s is busy (lock wait exceeded).', p_booking_id));
    END;
    RETURN v_booking;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_booking(uuid) IS
'Internal: locks a booking row (after its contact, before any exam; BUSY after mockbook.lock_timeout); NULL when there is none.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_booking(uuid) FROM PUBLIC, anon, authenticated, service_role;
