-- Undo db/functions/internal/release_seat.sql (moved).
-- Frozen copy of db/functions/release_seat.sql (changed).
/**
 * mockbook_internal.release_seat(p_exam_hubspot_id text) -> integer (total_bookings after)
 *
 * total_bookings - 1 (never below 0) on the exam a cancelled or moved booking held, by one
 * UPDATE at the end of the caller's transaction (the exam is last in the lock order contact,
 * booking, exam). NULL when there is no such exam (a booking whose exam was deleted). A row held
 * by another transaction is waited for at most mockbook.lock_timeout (default 2s), then BUSY.
 * The freed seat then goes to the exam's waitlist, under the same lock
 * (mockbook_internal.offer_free_seats: the first waiting student gets an offer); the
 * timeout bounds the exam's wait only, so the offer's own waits (a table lock on the
 * waitlist, its outbox rows) are waited out, never a raw 55P03.
 * Errors: BUSY. Locks: the exam row.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.release_seat(p_exam_hubspot_id text)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
-- (SET lock_timeout: the timeout set below bounds only this function's own wait, as the
-- clause restores the caller's value when the function returns. Without it the timeout
-- lasted for the rest of the transaction, and a later wait ended in a raw 55P03, not BUSY.)
SET lock_timeout = 0
AS $$
DECLARE
    v_total integer;
BEGIN
    PERFORM set_config('lock_timeout',
                       coalesce(nullif(current_setting('mockbook.lock_timeout', true), ''), '2s'),
                       true);
    BEGIN
        UPDATE hubspot_sync.hubspot_mock_exams AS e
        SET total_bookings = greatest(coalesce(e.total_bookings, 0) - 1, 0), updated_at = now()
        WHERE e.hubspot_id = p_exam_hubspot_id
        RETURNING e.total_bookings INTO v_total;
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN  -- 40P01: a cycle with a
        -- transaction outside the lock order (ad-hoc SQL): the same answer as a long wait
        PERFORM mockbook_internal.raise_error('BUSY',
            format('Exam %s is busy (lock wait exceeded).', p_exam_hubspot_id));
    END;
    -- the timeout bounded the exam's wait only: back to the clause's 0 before the offer, whose
    -- waits (the places' UPDATE, their outbox and audit rows, behind a table lock such as a
    -- CREATE INDEX's) are waited out like any later wait of the call. (Before, the offer ran
    -- under the timeout and outside the BUSY handler: a raw 55P03 cancelled the cancellation.)
    PERFORM set_config('lock_timeout', '0', true);
    IF v_total IS NOT NULL THEN
        PERFORM mockbook_internal.offer_free_seats(p_exam_hubspot_id);
    END IF;
    RETURN v_total;
END
$$;

COMMENT ON FUNCTION mockbook_internal.release_seat(text) IS
'Internal: total_bookings - 1 of an exam, at the end of a cancellation or a move (last in the lock order; BUSY after mockbook.lock_timeout, which bounds that wait only); the freed seat is offered to the waitlist.';
REVOKE ALL ON FUNCTION mockbook_internal.release_seat(text) FROM PUBLIC, anon, authenticated, service_role;
