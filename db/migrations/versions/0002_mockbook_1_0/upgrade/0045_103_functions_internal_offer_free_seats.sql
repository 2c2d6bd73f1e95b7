-- Frozen copy of db/functions/internal/offer_free_seats.sql (new).
-- Why: a free seat goes to the next waiting student in the same transaction that freed it, and only
-- under the exam's lock, which is what lets take_seat count held offers exactly.
CREATE OR REPLACE FUNCTION mockbook_internal.offer_free_seats(p_exam_hubspot_id text)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_exam hubspot_sync.hubspot_mock_exams;
    v_free integer;
    v_hold integer := coalesce((mockbook_internal.booking_rule('offer_hold_minutes') #>> '{}')::integer, 60);
    v_made integer;
BEGIN
    SELECT e.* INTO v_exam FROM hubspot_sync.hubspot_mock_exams AS e
    WHERE e.hubspot_id = p_exam_hubspot_id;
    IF v_exam.id IS NULL OR mockbook_internal.exam_unbookable_reason(v_exam) IS NOT NULL THEN
        RETURN 0;
    END IF;
    v_free := coalesce(v_exam.capacity, 0) - coalesce(v_exam.total_bookings, 0)
              - (SELECT count(*)::integer FROM hubspot_sync.waitlist_entries AS w
                 WHERE w.mock_exam_id = p_exam_hubspot_id AND w.status = 'offered'
                   AND w.offer_expires_at > mockbook_internal.clock_now());
    IF v_free <= 0 THEN
        RETURN 0;
    END IF;
    -- MATERIALIZED: a rescanned LIMIT ... SKIP LOCKED subquery returns the next rows each
    -- time, offering one free seat to every waiting student
    WITH next AS MATERIALIZED (
        SELECT n.id FROM hubspot_sync.waitlist_entries AS n
        WHERE n.mock_exam_id = p_exam_hubspot_id AND n.status = 'waiting'
          -- booked that type and day (pulled, adopted): process_waitlist closes the place
          AND NOT EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b
                          WHERE b.student_id = n.student_id
                            AND b.mock_type = v_exam.mock_type
                            AND b.exam_date = v_exam.exam_date
                            AND b.is_active IN ('Active', 'Completed'))
        ORDER BY n.id
        LIMIT v_free
        FOR UPDATE SKIP LOCKED
    )
    UPDATE hubspot_sync.waitlist_entries AS w
    SET status = 'offered', offered_at = now(),
        offer_expires_at = mockbook_internal.clock_now() + make_interval(mins => v_hold)
    FROM next
    WHERE w.id = next.id AND w.status = 'waiting';
    GET DIAGNOSTICS v_made = ROW_COUNT;
    RETURN v_made;
END
$$;

COMMENT ON FUNCTION mockbook_internal.offer_free_seats(text) IS
'Internal: offers an exam''s free seats (capacity - total_bookings - held offers) to the first waiting
students, held for offer_hold_minutes (never to a student already holding an Active or Completed
booking of the exam''s type and day: passed over, process_waitlist closes the place); the caller
holds the exam''s lock. Errors: none. Locks: the places it offers (SKIP LOCKED), under the caller''s
exam lock.';
REVOKE ALL ON FUNCTION mockbook_internal.offer_free_seats(text) FROM PUBLIC, anon, authenticated, service_role;
