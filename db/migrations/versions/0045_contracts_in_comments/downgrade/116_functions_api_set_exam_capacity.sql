-- Undo db/functions/api/set_exam_capacity.sql (moved).
-- Frozen copy of db/functions/set_exam_capacity.sql (changed).
/**
 * hubspot_sync.set_exam_capacity(p_mock_exam_id text, p_capacity integer,
 *                                p_idempotency_key text DEFAULT NULL) -> jsonb
 *
 * Sets an exam's capacity (admin). Never below the exam's Active bookings, counted under the
 * exam lock, so no booking can slip in between the check and the change. Setting the capacity
 * it already has succeeds and writes nothing.
 * Args: p_mock_exam_id  the exam's HubSpot id
 *       p_capacity      the new number of seats, >= 0
 *       p_idempotency_key  optional, 1-255 characters: the same key with the same arguments
 *                       returns the first call's result unchanged and changes nothing; other
 *                       arguments -> IDEMPOTENCY_KEY_REUSED (mockbook_internal.claim_idempotent_call)
 * Returns: {success: true, mock_exam_id, capacity, previous_capacity, total_bookings,
 *           remaining_seats, offers_made}  (remaining_seats = capacity - total_bookings - seats
 *           held by waitlist offers, this call's offers included, never below 0: as
 *           list_available_exams counts it)
 * Errors: INVALID_ARGUMENT (exam id missing, capacity NULL or negative, key length),
 *         IDEMPOTENCY_KEY_REUSED, EXAM_NOT_FOUND, CAPACITY_BELOW_BOOKED (fewer seats than
 *         Active bookings), BUSY.
 * The audit rows name the request's JWT user when there is one (mockbook_internal.request_actor).
 * Seats a raised capacity frees go to the exam's waitlist (mockbook_internal.offer_free_seats, under
 * the exam's lock); returns offers_made too. A capacity below Active bookings + held offers is
 * allowed (down to the Active count): an offer beyond the new capacity can then no longer be
 * accepted (EXAM_FULL) and expires.
 * Locks: the idempotency key's advisory lock (when keyed), the exam row
 * (mockbook_internal.lock_exam), then the places offered (SKIP LOCKED).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.set_exam_capacity(p_mock_exam_id text,
                                                          p_capacity integer,
                                                          p_idempotency_key text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_exam hubspot_sync.hubspot_mock_exams;
    v_active integer;
    v_offers integer;
    v_held integer;
    v_fingerprint text;
    v_replay jsonb;
BEGIN
    -- admin powers: an admin's JWT or the service-role key, never a student's JWT
    PERFORM mockbook_internal.require_admin('set_exam_capacity');
    PERFORM mockbook_internal.check_text_arg('p_mock_exam_id', p_mock_exam_id, true, 255);
    IF p_capacity IS NULL OR p_capacity < 0 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_capacity must be a non-negative integer, not %s.',
                   coalesce(p_capacity::text, 'NULL')));
    END IF;

    v_fingerprint := mockbook_internal.booking_fingerprint('set_exam_capacity', p_mock_exam_id,
                                                      p_capacity::text,
                                                      mockbook_internal.request_actor());
    v_replay := mockbook_internal.claim_idempotent_call('set_exam_capacity', p_idempotency_key,
                                                   v_fingerprint);
    IF v_replay IS NOT NULL THEN
        RETURN v_replay;
    END IF;

    v_exam := mockbook_internal.lock_exam(p_mock_exam_id);

    SELECT count(*)::integer INTO v_active
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.associated_mock_exam = v_exam.hubspot_id AND b.is_active = 'Active';

    IF p_capacity < v_active THEN
        PERFORM mockbook_internal.raise_error('CAPACITY_BELOW_BOOKED',
            format('Exam %s has %s Active bookings; its capacity cannot be %s.',
                   v_exam.hubspot_id, v_active, p_capacity));
    END IF;

    IF v_exam.capacity IS DISTINCT FROM p_capacity THEN
        UPDATE hubspot_sync.hubspot_mock_exams SET capacity = p_capacity
        WHERE id = v_exam.id;
    END IF;
    v_offers := mockbook_internal.offer_free_seats(v_exam.hubspot_id);
    -- seats held by offers (those just made included) are not free: remaining_seats is
    -- list_available_exams' capacity - total_bookings - held_seats, never below 0
    SELECT count(*)::integer INTO v_held FROM hubspot_sync.waitlist_entries AS w
    WHERE w.mock_exam_id = v_exam.hubspot_id AND w.status = 'offered'
      AND w.offer_expires_at > mockbook_internal.clock_now();

    RETURN mockbook_internal.store_idempotent_result('set_exam_capacity', p_idempotency_key,
                                                v_fingerprint, jsonb_build_object(
        'success', true,
        'mock_exam_id', v_exam.hubspot_id,
        'capacity', p_capacity,
        'previous_capacity', v_exam.capacity,
        'total_bookings', v_active,
        'remaining_seats', greatest(p_capacity - v_active - v_held, 0),
        'offers_made', v_offers));
END
$$;

COMMENT ON FUNCTION hubspot_sync.set_exam_capacity(text, integer, text) IS
'Sets an exam''s capacity (>= 0, never below its Active bookings). Returns {success, mock_exam_id, '
'capacity, previous_capacity, total_bookings, remaining_seats (seats held by waitlist offers '
'left out, as list_available_exams), offers_made}. Optional '
'p_idempotency_key: the same key and arguments return the first result and change nothing, '
'other arguments IDEMPOTENCY_KEY_REUSED. Errors: INVALID_ARGUMENT, IDEMPOTENCY_KEY_REUSED, '
'EXAM_NOT_FOUND, CAPACITY_BELOW_BOOKED, BUSY. Locks the key, then the exam row.';
REVOKE ALL ON FUNCTION hubspot_sync.set_exam_capacity(text, integer, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.set_exam_capacity(text, integer, text) TO service_role;
