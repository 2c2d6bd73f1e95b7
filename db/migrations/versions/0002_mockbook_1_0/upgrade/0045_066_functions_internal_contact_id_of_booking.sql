-- Frozen copy of db/functions/internal/contact_id_of_booking.sql (new).
-- Why PL/pgSQL, not SQL: a SQL function's body is planned again on every call.
CREATE OR REPLACE FUNCTION mockbook_internal.contact_id_of_booking(p_booking hubspot_sync.hubspot_bookings)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    RETURN coalesce(
        (SELECT c.id FROM hubspot_sync.hubspot_contact_credits AS c
         WHERE c.student_id = p_booking.student_id),
        (SELECT c.id FROM hubspot_sync.hubspot_contact_credits AS c
         WHERE p_booking.student_id IS NULL AND c.hubspot_id = p_booking.associated_contact_id));
END
$$;

COMMENT ON FUNCTION mockbook_internal.contact_id_of_booking(hubspot_sync.hubspot_bookings) IS
'Internal: the id of the contact a booking belongs to (by student_id, else by HubSpot contact id), or
NULL.';
REVOKE ALL ON FUNCTION mockbook_internal.contact_id_of_booking(hubspot_sync.hubspot_bookings)
    FROM PUBLIC, anon, authenticated, service_role;
