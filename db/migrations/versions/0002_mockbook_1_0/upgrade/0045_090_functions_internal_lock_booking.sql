-- Frozen copy of db/functions/internal/lock_booking.sql (new).
-- Why: bookings are second in the lock order (after their contact, before any exam).
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
'Internal: locks a booking row (after its contact, before any exam; BUSY after
mockbook.lock_timeout); NULL when there is none. Errors: BUSY. Locks: the booking row, FOR UPDATE.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_booking(uuid) FROM PUBLIC, anon, authenticated, service_role;
