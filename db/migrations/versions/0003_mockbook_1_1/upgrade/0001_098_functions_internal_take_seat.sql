-- Frozen copy of db/functions/internal/take_seat.sql (changed).
-- Why: the seat is taken by the booking's last statement, a conditional UPDATE, so a hot exam's row
-- is locked only for that statement and the commit and the capacity can never be exceeded.
CREATE OR REPLACE FUNCTION mockbook_internal.take_seat(
    p_exam hubspot_sync.hubspot_mock_exams,
    p_check_capacity boolean DEFAULT true
)
RETURNS hubspot_sync.hubspot_mock_exams
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
-- the checks after the seat's wait are not bounded, whatever the caller set
SET lock_timeout = 0
AS $$
DECLARE
    v_exam hubspot_sync.hubspot_mock_exams;
    v_reason text;
    v_held integer;
    v_setting text;  -- set_config's result, unread: an assignment starts no executor (PERFORM does)
BEGIN
    -- the UPDATE waits for the row itself, bounded by mockbook.lock_timeout, in the calling API
    -- function's subtransaction (no block of its own: a subtransaction here gave every booking a
    -- second XID); a wait that ran out, or a deadlock, is answered BUSY by that function's
    -- handler (raise_busy). The row gets a plain xmax, never a MultiXact
    v_setting := pg_catalog.set_config('lock_timeout',
        coalesce(nullif(pg_catalog.current_setting('mockbook.lock_timeout', true), ''), '2s'),
        true);
    UPDATE hubspot_sync.hubspot_mock_exams AS e
    SET total_bookings = coalesce(e.total_bookings, 0) + 1, updated_at = now()
    WHERE e.id = p_exam.id
      AND (NOT p_check_capacity
           OR coalesce(e.total_bookings, 0) < coalesce(e.capacity, 0))
    RETURNING e.* INTO v_exam;
    -- back to the function's own 0 (its SET clause) for the checks below
    v_setting := pg_catalog.set_config('lock_timeout', '0', true);
    IF v_exam.id IS NULL THEN
        SELECT e.* INTO v_exam FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.id = p_exam.id;
        IF v_exam.id IS NULL THEN
            PERFORM mockbook_internal.raise_error('EXAM_NOT_FOUND',
                format('No exam %L.', p_exam.hubspot_id));
        END IF;
        PERFORM mockbook_internal.raise_error('EXAM_FULL',
            format('Exam %s is full (%s of %s seats booked).', v_exam.hubspot_id,
                   coalesce(v_exam.total_bookings, 0), coalesce(v_exam.capacity, 0)));
    END IF;

    -- the seats held by waitlist offers count against the capacity: counted by a statement of
    -- its own, whose snapshot, taken after the row's lock was granted, sees every offer made
    -- under this exam's lock (offers are only ever made under it)
    IF p_check_capacity THEN
        SELECT count(*)::integer INTO v_held FROM hubspot_sync.waitlist_entries AS w
        WHERE w.mock_exam_id = v_exam.hubspot_id AND w.status = 'offered'
          AND w.offer_expires_at > mockbook_internal.clock_now();
        IF v_exam.total_bookings + v_held > coalesce(v_exam.capacity, 0) THEN
            PERFORM mockbook_internal.raise_error('EXAM_FULL',
                format('Exam %s is full (%s of %s seats booked, %s held for waitlist offers).',
                       v_exam.hubspot_id, v_exam.total_bookings - 1, v_exam.capacity, v_held));
        END IF;
    END IF;

    -- the caller's checks stand (same transaction, clock and zone) unless what they read changed
    IF (v_exam.is_active, v_exam.scheduled_activation_datetime, v_exam.exam_date,
        v_exam.exam_starts_at, v_exam.exam_ends_at, v_exam.mock_type, v_exam.start_time,
        v_exam.end_time, v_exam.mock_set, v_exam.prerequisite_exam_ids)
       IS DISTINCT FROM
       (p_exam.is_active, p_exam.scheduled_activation_datetime, p_exam.exam_date,
        p_exam.exam_starts_at, p_exam.exam_ends_at, p_exam.mock_type, p_exam.start_time,
        p_exam.end_time, p_exam.mock_set, p_exam.prerequisite_exam_ids) THEN
        IF (v_exam.is_active, v_exam.scheduled_activation_datetime, v_exam.exam_date,
            v_exam.exam_starts_at, v_exam.exam_ends_at)
           IS DISTINCT FROM
           (p_exam.is_active, p_exam.scheduled_activation_datetime, p_exam.exam_date,
            p_exam.exam_starts_at, p_exam.exam_ends_at) THEN
            v_reason := mockbook_internal.exam_unbookable_reason(v_exam);
            IF v_reason IS NOT NULL THEN
                PERFORM mockbook_internal.raise_error(v_reason,
                    format('Exam %s is no longer open for booking (is_active %L, exam day %s).',
                           v_exam.hubspot_id, v_exam.is_active, v_exam.exam_date));
            END IF;
        END IF;
        IF (v_exam.mock_type, v_exam.exam_date, v_exam.start_time, v_exam.end_time,
            v_exam.mock_set, v_exam.prerequisite_exam_ids)
           IS DISTINCT FROM
           (p_exam.mock_type, p_exam.exam_date, p_exam.start_time, p_exam.end_time,
            p_exam.mock_set, p_exam.prerequisite_exam_ids) THEN
            PERFORM mockbook_internal.raise_error('BUSY',
                format('Exam %s was changed while this booking was made; call again.',
                       v_exam.hubspot_id));
        END IF;
    END IF;
    RETURN v_exam;
END
$$;

COMMENT ON FUNCTION mockbook_internal.take_seat(hubspot_sync.hubspot_mock_exams, boolean) IS
'Internal: the booking path''s last statement: total_bookings + 1 if a seat is free, waitlist offers''
held seats counted (EXAM_FULL otherwise, rolling the booking back); the exam must still be open and
unchanged (else EXAM_NOT_ACTIVE/EXAM_IN_PAST/BUSY). Its wait for the exam row is bounded by
mockbook.lock_timeout and raises 55P03 past it (40P01 in a deadlock), which every API function''s
handler answers BUSY (raise_busy): call it from API functions only. Locks: the exam row (last in
the lock order contact, booking, exam).';
REVOKE ALL ON FUNCTION mockbook_internal.take_seat(hubspot_sync.hubspot_mock_exams, boolean)
    FROM PUBLIC, anon, authenticated, service_role;
