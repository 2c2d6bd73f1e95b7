-- Frozen copy of db/functions/internal/booking_by_ref.sql (changed).
CREATE OR REPLACE FUNCTION mockbook_internal.booking_by_ref(p_ref text)
RETURNS hubspot_sync.hubspot_bookings
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
    v_count integer;
    v_codes text;
BEGIN
    SELECT count(*)::integer, string_agg(coalesce(b.booking_id, b.id::text), ', ' ORDER BY b.id)
    INTO v_count, v_codes
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE ((p_ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            AND b.id = CASE WHEN p_ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                            THEN p_ref::uuid END)
           OR b.booking_id = p_ref
           OR b.hubspot_id = p_ref)
      -- not yours = not there: a student's JWT resolves among their own bookings only
      AND mockbook_internal.caller_sees(b.student_id);
    IF v_count > 1 THEN
        PERFORM mockbook_internal.raise_error('AMBIGUOUS_REFERENCE',
            format('%L names %s bookings (%s): as an id, a booking code or a HubSpot id.', p_ref,
                   v_count, v_codes));
    END IF;
    SELECT b.* INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
    WHERE ((p_ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            AND b.id = CASE WHEN p_ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                            THEN p_ref::uuid END)
           OR b.booking_id = p_ref
           OR b.hubspot_id = p_ref)
      AND mockbook_internal.caller_sees(b.student_id);
    RETURN v_booking;
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_by_ref(text) IS
'Internal: the booking a reference names (its uuid, booking code or HubSpot id) among those the
request may see (caller_sees: a student''s JWT, their own), or NULL; AMBIGUOUS_REFERENCE when it
names two of them.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_by_ref(text) FROM PUBLIC, anon, authenticated, service_role;
