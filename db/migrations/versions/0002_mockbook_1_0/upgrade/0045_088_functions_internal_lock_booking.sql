-- Frozen copy of db/functions/internal/lock_booking.sql (new).
/**
 * Why: bookings are second in the lock order (after their contact, before any exam); every
 * function locks a booking through here, with the bounded wait of mockbook_internal.wait_for_lock.
 * The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.lock_booking(p_booking_id uuid)
RETURNS hubspot_sync.hubspot_bookings
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
BEGIN
    PERFORM mockbook_internal.wait_for_lock('booking', p_booking_id::text);
    SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings WHERE id = p_booking_id;
    RETURN v_booking;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_booking(uuid) IS
'Internal: locks a booking row (after its contact, before any exam; BUSY after mockbook.lock_timeout); NULL when there is none.

Second in the lock order (after the booking''s contact, before any exam; see
mockbook_internal.lock_contact). A free row is locked at once (SKIP LOCKED, no subtransaction);
a row held by another transaction is waited for at most mockbook.lock_timeout (default 2s),
then BUSY. Returns NULL when there is no such booking (the caller names the error).
Errors: BUSY. Locks: the booking row, FOR UPDATE.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_booking(uuid) FROM PUBLIC, anon, authenticated, service_role;
