-- Frozen copy of db/functions/internal/take_seat.sql (new).
/**
 * Why: the seat is taken by the booking's last statement, a conditional UPDATE, so a hot exam's
 * row is locked only for that statement and the commit and the capacity can never be exceeded;
 * what the caller decided without the lock is checked again on the row it updated. The wait for
 * the row is bounded as wait_for_lock bounds its waits (mockbook.lock_timeout, BUSY), but by the
 * UPDATE itself in a subtransaction: a separate tuple lock first costs a hot exam more (measured
 * in docs/performance.md). The contract is the COMMENT ON FUNCTION below.
 */
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
BEGIN
    -- the wait for the row and the update in one subtransaction, bounded by
    -- mockbook.lock_timeout (BUSY past it, or on a deadlock): the row gets a plain xmax (never a
    -- MultiXact, which a lock taken first and updated after in another (sub)transaction makes)
    -- and no tuple lock of its own, one buffer write fewer on the exam's page
    PERFORM pg_catalog.set_config('lock_timeout',
        coalesce(nullif(pg_catalog.current_setting('mockbook.lock_timeout', true), ''), '2s'),
        true);
    BEGIN
        UPDATE hubspot_sync.hubspot_mock_exams AS e
        SET total_bookings = coalesce(e.total_bookings, 0) + 1, updated_at = now()
        WHERE e.id = p_exam.id
          AND (NOT p_check_capacity
               OR coalesce(e.total_bookings, 0) < coalesce(e.capacity, 0))
        RETURNING e.* INTO v_exam;
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
        PERFORM mockbook_internal.raise_error('BUSY',
            format('Exam %s is busy (lock wait exceeded).', p_exam.hubspot_id));
    END;
    -- back to the function's own 0 (its SET clause) for the checks below
    PERFORM pg_catalog.set_config('lock_timeout', '0', true);
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

    v_reason := mockbook_internal.exam_unbookable_reason(v_exam);
    IF v_reason IS NOT NULL THEN
        PERFORM mockbook_internal.raise_error(v_reason,
            format('Exam %s is no longer open for booking (is_active %L, exam day %s).',
                   v_exam.hubspot_id, v_exam.is_active, v_exam.exam_date));
    END IF;
    IF (v_exam.mock_type, v_exam.exam_date, v_exam.start_time, v_exam.end_time, v_exam.mock_set,
        v_exam.prerequisite_exam_ids)
       IS DISTINCT FROM
       (p_exam.mock_type, p_exam.exam_date, p_exam.start_time, p_exam.end_time, p_exam.mock_set,
        p_exam.prerequisite_exam_ids) THEN
        PERFORM mockbook_internal.raise_error('BUSY',
            format('Exam %s was changed while this booking was made; call again.',
                   v_exam.hubspot_id));
    END IF;
    RETURN v_exam;
END
$$;

COMMENT ON FUNCTION mockbook_internal.take_seat(hubspot_sync.hubspot_mock_exams, boolean) IS
'Internal: the booking path''s last statement: total_bookings + 1 if a seat is free, waitlist offers'' held seats counted (EXAM_FULL otherwise, rolling the booking back); the exam must still be open and unchanged (else EXAM_NOT_ACTIVE/EXAM_IN_PAST/BUSY); BUSY after mockbook.lock_timeout.

The booking functions'' last statement before the commit: total_bookings + 1 by one
conditional UPDATE of p_exam''s row (read earlier without a lock),
  ... SET total_bookings = total_bookings + 1 WHERE id = p_exam.id AND total_bookings < capacity
(without the capacity condition when p_check_capacity is false: an admin''s override).
Zero rows -> EXAM_FULL (or EXAM_NOT_FOUND: the exam was deleted); the caller''s earlier writes
(booking, credit, ledger, outbox and audit rows) roll back with the error. Seats held by
waitlist offers (hubspot_sync.waitlist_entries, status ''offered'') count against the capacity
too: once the row is locked, the offers are counted by a statement of their own (its
snapshot, taken after the lock was granted, sees every offer made under this exam''s lock, and
offers are only ever made under it: mockbook_internal.offer_free_seats), and total_bookings + held
offers above the capacity -> EXAM_FULL. accept_offer marks its offer accepted before calling
this, so the seat it held is the one taken. The row it updated
is then checked as it is now: still open (EXAM_NOT_ACTIVE, EXAM_IN_PAST), and with the same
mock type, date, times, mock set and prerequisites as the row the caller decided on and copied
into the booking (else BUSY: the exam was edited meanwhile; the same call again decides on the
new values). The row is locked by the UPDATE itself, inside a subtransaction that bounds its
wait by mockbook.lock_timeout (default 2s; BUSY past it, or on a deadlock): no separate tuple
lock, and the row gets a plain xmax (no MultiXact). The timeout bounds that wait only: the
checks after it run without it.
Errors: EXAM_FULL, EXAM_NOT_FOUND, EXAM_NOT_ACTIVE, EXAM_IN_PAST, BUSY.
Locks: the exam row (last in the lock order contact, booking, exam).';
REVOKE ALL ON FUNCTION mockbook_internal.take_seat(hubspot_sync.hubspot_mock_exams, boolean)
    FROM PUBLIC, anon, authenticated, service_role;
