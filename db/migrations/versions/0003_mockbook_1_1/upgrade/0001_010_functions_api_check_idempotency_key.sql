-- Frozen copy of db/functions/api/check_idempotency_key.sql (changed).
-- Why: existing callers look a booking up by its key before booking. A plain read: the booking
-- functions make their own decision under the key's lock.
CREATE OR REPLACE FUNCTION hubspot_sync.check_idempotency_key(p_idempotency_key text)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
    v_students constant text[] := mockbook_internal.caller_students();
BEGIN
    IF p_idempotency_key IS NULL THEN
        RETURN NULL;
    END IF;

    IF v_students IS NULL THEN
        SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.idempotency_key = p_idempotency_key;
    ELSE
        -- not yours = not there: only the student's own rows, read by student (OFFSET 0)
        SELECT * INTO v_booking
        FROM (SELECT * FROM hubspot_sync.hubspot_bookings AS o
              WHERE o.student_id = ANY (v_students) OFFSET 0) AS b
        WHERE b.idempotency_key = p_idempotency_key;
    END IF;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    RETURN jsonb_build_object(
        'found', true,
        'booking_id', v_booking.booking_id,
        'id', v_booking.id,
        'hubspot_id', v_booking.hubspot_id,
        'is_active', v_booking.is_active,
        'student_id', v_booking.student_id,
        'mock_exam_id', v_booking.associated_mock_exam,
        'created_at', v_booking.created_at);
EXCEPTION
    WHEN lock_not_available OR deadlock_detected THEN
        PERFORM mockbook_internal.raise_busy(SQLSTATE);
        RAISE;
    WHEN disk_full OR insufficient_resources OR out_of_memory OR configuration_limit_exceeded
         OR io_error OR read_only_sql_transaction THEN
        PERFORM mockbook_internal.raise_unavailable(SQLSTATE);
        RAISE;
END
$$;

COMMENT ON FUNCTION hubspot_sync.check_idempotency_key(text) IS
'Compatibility: production''s lookup of a booking by its idempotency key.
`{found: true, booking_id, id, hubspot_id, is_active, student_id, mock_exam_id, created_at}` or
NULL (`mock_exam_id`: the booking''s `associated_mock_exam`); with a student''s JWT, NULL too for
another student''s key (not yours = not there). A pre-check only: `create_booking` decides under a
lock. No errors.';
REVOKE ALL ON FUNCTION hubspot_sync.check_idempotency_key(text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.check_idempotency_key(text) TO service_role;
