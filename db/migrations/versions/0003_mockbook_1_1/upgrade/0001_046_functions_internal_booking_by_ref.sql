-- Frozen copy of db/functions/internal/booking_by_ref.sql (changed).
CREATE OR REPLACE FUNCTION mockbook_internal.booking_by_ref(p_ref text)
RETURNS hubspot_sync.hubspot_bookings
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_uuid constant uuid := CASE
        WHEN p_ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        THEN p_ref::uuid END;
    v_students constant text[] := mockbook_internal.caller_students();
    v_ids uuid[];
    v_codes text;
    v_booking hubspot_sync.hubspot_bookings;
BEGIN
    IF v_students IS NULL THEN
        SELECT array_agg(b.id ORDER BY b.id),
               string_agg(coalesce(b.booking_id, b.id::text), ', ' ORDER BY b.id)
        INTO v_ids, v_codes
        FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.id = v_uuid OR b.booking_id = p_ref OR b.hubspot_id = p_ref;
    ELSE
        -- not yours = not there: only the student's own rows, read by student (OFFSET 0)
        SELECT array_agg(b.id ORDER BY b.id),
               string_agg(coalesce(b.booking_id, b.id::text), ', ' ORDER BY b.id)
        INTO v_ids, v_codes
        FROM (SELECT o.id, o.booking_id, o.hubspot_id FROM hubspot_sync.hubspot_bookings AS o
              WHERE o.student_id = ANY (v_students) OFFSET 0) AS b
        WHERE b.id = v_uuid OR b.booking_id = p_ref OR b.hubspot_id = p_ref;
    END IF;
    IF cardinality(v_ids) > 1 THEN
        PERFORM mockbook_internal.raise_error('AMBIGUOUS_REFERENCE',
            format('%L names %s bookings (%s): as an id, a booking code or a HubSpot id.', p_ref,
                   cardinality(v_ids), v_codes));
    ELSIF v_ids IS NOT NULL THEN
        SELECT b.* INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = v_ids[1];
    END IF;
    RETURN v_booking;
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_by_ref(text) IS
'Internal: the booking a reference names (its uuid, booking code or HubSpot id) among those the
request may see (caller_students: a student''s JWT, their own, read by student), or NULL;
AMBIGUOUS_REFERENCE when it names two of them.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_by_ref(text) FROM PUBLIC, anon, authenticated, service_role;
