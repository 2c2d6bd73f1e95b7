-- Frozen copy of db/functions/internal/booking_result.sql (new).
-- Why: a replay answers the booking as it is now, read from the rows and shaped by booking_json, so
-- a retry gets the same keys as the first call.
CREATE OR REPLACE FUNCTION mockbook_internal.booking_result(p_booking hubspot_sync.hubspot_bookings,
                                                       p_replay boolean)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    RETURN (
        SELECT mockbook_internal.booking_json(
            p_booking, p_replay, f.credit_field,
            (SELECT mockbook_internal.credit_balance(c, f.credit_field)
             FROM hubspot_sync.hubspot_contact_credits AS c
             WHERE c.student_id = p_booking.student_id),
            e.total_bookings, e.capacity)
        FROM (SELECT mockbook_internal.credit_field_of_token(p_booking.token_used) AS credit_field) AS f
        LEFT JOIN hubspot_sync.hubspot_mock_exams AS e
               ON e.hubspot_id = p_booking.associated_mock_exam);
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_result(hubspot_sync.hubspot_bookings, boolean) IS
'Internal: the jsonb result of the booking functions for one booking as it is now (a replay), read
and shaped by booking_json. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_result(hubspot_sync.hubspot_bookings, boolean)
    FROM PUBLIC, anon, authenticated, service_role;
