-- Frozen copy of db/functions/api/set_exam_capacity.sql (changed).
-- Why: a capacity change must not drop below the Active bookings, counted under the exam's lock.
CREATE OR REPLACE FUNCTION hubspot_sync.set_exam_capacity(p_mock_exam_id text,
                                                          p_capacity integer,
                                                          p_idempotency_key text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
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
    PERFORM mockbook_internal.withdraw_excess_offers(v_exam.hubspot_id);
    v_offers := mockbook_internal.offer_free_seats(v_exam.hubspot_id);
    -- seats held by offers are not free (as list_available_exams' remaining_seats)
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

COMMENT ON FUNCTION hubspot_sync.set_exam_capacity(text, integer, text) IS
'Sets an exam''s capacity, never below its Active bookings (counted under the exam lock). Seats a
raised capacity frees are offered to the waitlist at once. Returns `{success, mock_exam_id,
capacity, previous_capacity, total_bookings, remaining_seats, offers_made}` (`remaining_seats` as
`list_available_exams` counts it). Below Active bookings + held offers, the latest offers go back
to waiting (their places keep their order); the earlier ones can still be accepted.
`p_idempotency_key` (optional, 1–255): same key and arguments → the first result.
Errors: `INVALID_ARGUMENT`, `IDEMPOTENCY_KEY_REUSED`, `EXAM_NOT_FOUND`, `CAPACITY_BELOW_BOOKED`,
`BUSY`. Locks: the key (when given), then the exam.';
REVOKE ALL ON FUNCTION hubspot_sync.set_exam_capacity(text, integer, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.set_exam_capacity(text, integer, text) TO service_role;
