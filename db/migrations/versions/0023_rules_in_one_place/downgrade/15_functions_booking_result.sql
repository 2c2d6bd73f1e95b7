-- Undo db/functions/booking_result.sql (changed).
-- Frozen copy of db/functions/booking_result.sql (new).
/**
 * hubspot_sync.booking_result(p_booking, p_replay) -> jsonb
 *
 * The result of the booking functions (create_booking, admin_create_booking, rebook,
 * create_booking_atomic), for a new booking and for an idempotent replay alike:
 *   {success: true, idempotent_replay: p_replay, id, booking_id, status, mock_exam_id,
 *    mock_type, exam_date, student_id, token_used, credit_field, credits_remaining,
 *    total_bookings, capacity}
 * credit_field is the field token_used names (NULL for 'Admin Override'); credits_remaining is
 * the contact's balance of it now, and total_bookings/capacity are the exam's now (as this
 * transaction sees them, i.e. after its own changes).
 * Errors: none. Locks: none.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.booking_result(p_booking hubspot_sync.hubspot_bookings,
                                                       p_replay boolean)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = ''
AS $$
    SELECT jsonb_build_object(
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
        'credit_field', f.credit_field,
        'credits_remaining', (
            SELECT hubspot_sync.credit_balance(c, f.credit_field)
            FROM hubspot_sync.hubspot_contact_credits AS c
            WHERE c.student_id = p_booking.student_id),
        'total_bookings', e.total_bookings,
        'capacity', e.capacity)
    FROM (SELECT hubspot_sync.credit_field_of_token(p_booking.token_used) AS credit_field) AS f
    LEFT JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = p_booking.associated_mock_exam
$$;

COMMENT ON FUNCTION hubspot_sync.booking_result(hubspot_sync.hubspot_bookings, boolean) IS
'Internal: the jsonb result of the booking functions for one booking (new or replayed).';
REVOKE ALL ON FUNCTION hubspot_sync.booking_result(hubspot_sync.hubspot_bookings, boolean)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.booking_result(hubspot_sync.hubspot_bookings, boolean)
    TO service_role;
