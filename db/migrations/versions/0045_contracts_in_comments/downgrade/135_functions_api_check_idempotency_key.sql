-- Undo db/functions/api/check_idempotency_key.sql (moved).
-- Frozen copy of db/functions/check_idempotency_key.sql (changed).
/**
 * hubspot_sync.check_idempotency_key(p_idempotency_key text) -> jsonb
 *
 * Compatibility: the production lookup of a booking by its idempotency key, same name, parameter
 * and return type as before mockbook. Returns
 *   {found: true, booking_id, id, hubspot_id, is_active, student_id, mock_exam_id, created_at}
 * or NULL when the key is NULL or unused. Fixed: mock_exam_id now comes from
 * associated_mock_exam (the original read a column that does not exist and failed).
 * create_booking does its own idempotency check (with the argument fingerprint) under a lock;
 * this read is only a fast pre-check for old callers.
 * Errors: none. Locks: none (STABLE).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.check_idempotency_key(p_idempotency_key text)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
BEGIN
    IF p_idempotency_key IS NULL THEN
        RETURN NULL;
    END IF;

    SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.idempotency_key = p_idempotency_key;
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
END
$$;

COMMENT ON FUNCTION hubspot_sync.check_idempotency_key(text) IS
'Compatibility: the booking an idempotency key was used for, as {found, booking_id, id, hubspot_id, '
'is_active, student_id, mock_exam_id, created_at}, or NULL. Fixed: mock_exam_id comes from '
'associated_mock_exam.';
REVOKE ALL ON FUNCTION hubspot_sync.check_idempotency_key(text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.check_idempotency_key(text) TO service_role;
