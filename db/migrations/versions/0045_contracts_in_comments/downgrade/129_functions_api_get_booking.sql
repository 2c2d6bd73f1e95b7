-- Undo db/functions/api/get_booking.sql (moved).
-- Frozen copy of db/functions/get_booking.sql (changed).
/**
 * hubspot_sync.get_booking(p_id uuid DEFAULT NULL, p_hubspot_id text DEFAULT NULL,
 *                          p_booking_id text DEFAULT NULL) -> hubspot_bookings
 *
 * Compatibility: the production read of one booking row, same name, parameters and return type
 * as before mockbook. Looks up, in this order of precedence: p_id, else p_hubspot_id, else
 * p_booking_id (the booking code). Returns the whole row, or NULL when nothing matches (as
 * before). Change from the original: calling it without any key raises INVALID_ARGUMENT through
 * raise_error instead of a raw P0001 exception.
 * New code should call list_contact_bookings.
 * Errors: INVALID_ARGUMENT (no key given). Locks: none (STABLE).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.get_booking(
    p_id uuid DEFAULT NULL,
    p_hubspot_id text DEFAULT NULL,
    p_booking_id text DEFAULT NULL
)
RETURNS hubspot_sync.hubspot_bookings
LANGUAGE plpgsql
STABLE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
BEGIN
    IF p_id IS NOT NULL THEN
        SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = p_id;
    ELSIF p_hubspot_id IS NOT NULL THEN
        SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.hubspot_id = p_hubspot_id;
    ELSIF p_booking_id IS NOT NULL THEN
        SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.booking_id = p_booking_id;
    ELSE
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'Provide p_id, p_hubspot_id or p_booking_id.');
    END IF;
    IF v_booking.id IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN v_booking;
END
$$;

COMMENT ON FUNCTION hubspot_sync.get_booking(uuid, text, text) IS
'Compatibility: the production booking lookup (by p_id, else p_hubspot_id, else p_booking_id); '
'returns the hubspot_bookings row or NULL. Errors: INVALID_ARGUMENT when no key is given.';
REVOKE ALL ON FUNCTION hubspot_sync.get_booking(uuid, text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.get_booking(uuid, text, text) TO service_role;
