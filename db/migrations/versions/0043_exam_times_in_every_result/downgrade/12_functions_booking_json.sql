-- Undo db/functions/booking_json.sql (changed).
-- Frozen copy of db/functions/booking_json.sql (changed).
-- moved by 00_schema_changes.sql (ALTER FUNCTION ... SET SCHEMA): nothing left to drop here
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.booking_json;
/**
 * mockbook_internal.booking_json(p_booking, p_replay, p_credit_field, p_credits_remaining,
 *                           p_total_bookings, p_capacity) -> jsonb
 *
 * The one shape of the booking functions' result, from values the caller has in hand (the
 * booking pipeline, mockbook_internal.book: the rows it just wrote, no re-read) or has read
 * (mockbook_internal.booking_result, a replay):
 *   {success: true, idempotent_replay, id, booking_id, status, mock_exam_id, mock_type,
 *    exam_date, student_id, token_used, credit_field, credits_remaining, total_bookings,
 *    capacity}
 * Errors: none. Locks: none.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.booking_json(p_booking hubspot_sync.hubspot_bookings,
                                                     p_replay boolean,
                                                     p_credit_field text,
                                                     p_credits_remaining integer,
                                                     p_total_bookings integer,
                                                     p_capacity integer)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    -- PL/pgSQL, not SQL: its plan is kept for the session (a SQL function with a SET clause is
    -- planned again on every call); the booking path calls this once per booking
    RETURN jsonb_build_object(
        'success', true,
        'idempotent_replay', p_replay,
        'id', p_booking.id,
        'booking_id', p_booking.booking_id,
        'status', p_booking.is_active,
        'mock_exam_id', p_booking.associated_mock_exam,
        'mock_type', p_booking.mock_type,
        'exam_date', p_booking.exam_date,
        'student_id', p_booking.student_id,
        'token_used', p_booking.token_used,
        'credit_field', p_credit_field,
        'credits_remaining', p_credits_remaining,
        'total_bookings', p_total_bookings,
        'capacity', p_capacity);
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_json(hubspot_sync.hubspot_bookings, boolean, text, integer, integer, integer) IS
'Internal: the one shape of the booking functions'' jsonb result, from values in hand.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_json(hubspot_sync.hubspot_bookings, boolean, text, integer, integer, integer)
    FROM PUBLIC, anon, authenticated, service_role;
