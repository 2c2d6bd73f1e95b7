-- Undo db/functions/booking_by_ref.sql (changed).
-- Frozen copy of db/functions/booking_by_ref.sql (changed).
-- moved by 00_schema_changes.sql (ALTER FUNCTION ... SET SCHEMA): nothing left to drop here
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.booking_by_ref;
/**
 * mockbook_internal.booking_by_ref(p_ref) -> hubspot_bookings, NULL when none matches
 *
 * Resolves the booking reference apps pass as p_booking_id: the booking's uuid (id), else its
 * booking code (booking_id), else its HubSpot id (hubspot_id), in that order. Read without a
 * lock: callers lock the booking's exam first, then read the booking again FOR UPDATE.
 * Errors: none (callers raise BOOKING_NOT_FOUND or list it as not found). Locks: none.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.booking_by_ref(p_ref text)
RETURNS hubspot_sync.hubspot_bookings
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
BEGIN
    IF p_ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = p_ref::uuid;
        IF FOUND THEN
            RETURN v_booking;
        END IF;
    END IF;
    SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.booking_id = p_ref;
    IF FOUND THEN
        RETURN v_booking;
    END IF;
    SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.hubspot_id = p_ref;
    RETURN v_booking;
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_by_ref(text) IS
'Internal: the booking a reference names (uuid, else booking code, else HubSpot id), or NULL.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_by_ref(text) FROM PUBLIC, anon, authenticated, service_role;
