-- Frozen copy of db/functions/internal/release_seat.sql (new).
-- Why: a cancellation or a move gives its seat back by one UPDATE at its end (exams are last in the
-- lock order), and the freed seat goes to the waitlist under the same lock.
CREATE OR REPLACE FUNCTION mockbook_internal.release_seat(p_exam_hubspot_id text)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
-- the offer's waits (the places, their outbox rows) are not bounded, whatever the caller set
SET lock_timeout = 0
AS $$
DECLARE
    v_total integer;
BEGIN
    PERFORM mockbook_internal.wait_for_lock('exam', p_exam_hubspot_id);
    UPDATE hubspot_sync.hubspot_mock_exams AS e
    SET total_bookings = greatest(coalesce(e.total_bookings, 0) - 1, 0), updated_at = now()
    WHERE e.hubspot_id = p_exam_hubspot_id
    RETURNING e.total_bookings INTO v_total;
    IF v_total IS NOT NULL THEN
        PERFORM mockbook_internal.offer_free_seats(p_exam_hubspot_id);
    END IF;
    RETURN v_total;
END
$$;

COMMENT ON FUNCTION mockbook_internal.release_seat(text) IS
'Internal: total_bookings - 1 of an exam, at the end of a cancellation or a move (last in the lock
order; BUSY after mockbook.lock_timeout, which bounds that wait only); the freed seat is offered to
the waitlist. Errors: BUSY. Locks: the exam row.';
REVOKE ALL ON FUNCTION mockbook_internal.release_seat(text) FROM PUBLIC, anon, authenticated, service_role;
