-- Frozen copy of db/functions/internal/booking_json.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.booking_json;
-- Why: the booking functions' result has one shape, written here once, whether built from the rows
-- just written or from a replay.
CREATE OR REPLACE FUNCTION mockbook_internal.booking_json(p_booking hubspot_sync.hubspot_bookings,
                                                     p_replay boolean,
                                                     p_credit_field text,
                                                     p_credits_remaining integer,
                                                     p_total_bookings integer,
                                                     p_capacity integer,
                                                     p_exam hubspot_sync.hubspot_mock_exams
                                                         DEFAULT NULL,
                                                     p_zone text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_zone text := coalesce(p_zone, mockbook_internal.business_timezone());
    v_same boolean := p_exam.hubspot_id IS NOT NULL
        AND (p_exam.hubspot_id, p_exam.exam_date, p_exam.start_time, p_exam.end_time)
            IS NOT DISTINCT FROM
            (p_booking.associated_mock_exam, p_booking.exam_date, p_booking.start_time,
             p_booking.end_time);
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is planned again on every call
    RETURN jsonb_build_object(
        'success', true,
        'idempotent_replay', p_replay,
        'id', p_booking.id,
        'booking_id', p_booking.booking_id,
        'status', p_booking.is_active,
        'mock_exam_id', p_booking.associated_mock_exam,
        'mock_type', p_booking.mock_type,
        'exam_date', p_booking.exam_date,
        -- the exam's own instants when the booking copies its date and times
        'starts_at', CASE WHEN v_same THEN p_exam.exam_starts_at
                          ELSE mockbook_internal.exam_starts_at(p_booking.exam_date,
                                                                p_booking.start_time) END,
        'ends_at', CASE WHEN v_same THEN p_exam.exam_ends_at
                        ELSE coalesce(
                            mockbook_internal.exam_starts_at(p_booking.exam_date,
                                                             p_booking.end_time),
                            mockbook_internal.day_start(p_booking.exam_date + 1, v_zone)) END,
        'time_zone', v_zone,
        'student_id', p_booking.student_id,
        'token_used', p_booking.token_used,
        'credit_field', p_credit_field,
        'credits_remaining', p_credits_remaining,
        'total_bookings', p_total_bookings,
        'capacity', p_capacity);
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_json(hubspot_sync.hubspot_bookings, boolean, text, integer, integer, integer, hubspot_sync.hubspot_mock_exams, text) IS
'Internal: the one shape of the booking functions'' jsonb result, from values in hand. Errors:
INVALID_ARGUMENT when mockbook.business_timezone names no zone. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_json(hubspot_sync.hubspot_bookings, boolean, text, integer, integer, integer, hubspot_sync.hubspot_mock_exams, text)
    FROM PUBLIC, anon, authenticated, service_role;
