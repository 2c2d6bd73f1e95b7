-- Undo db/functions/internal/lock_exam.sql (moved).
-- Frozen copy of db/functions/lock_exam.sql (changed).
/**
 * mockbook_internal.lock_exam(p_hubspot_id) -> hubspot_mock_exams (the locked row)
 *
 * Last in the lock order (contact, booking, exam; see mockbook_internal.lock_contact); several
 * exams in ascending hubspot_id order. For the functions that must read an exam under its lock
 * before writing it (set_exam_capacity, the pull's recounts, mark_attendance, cancel_bookings);
 * the booking path takes its seat with mockbook_internal.take_seat instead, one statement at the end.
 * A free row is locked at once (SKIP LOCKED, no subtransaction: no MultiXact when the
 * transaction then updates it); a row held by another transaction is waited for at most
 * mockbook.lock_timeout (setting, default 2s), then BUSY.
 * Errors: EXAM_NOT_FOUND, BUSY. Locks: the exam row, FOR NO KEY UPDATE, until the transaction ends.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.lock_exam(p_hubspot_id text)
RETURNS hubspot_sync.hubspot_mock_exams
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
-- (SET lock_timeout: the timeout set below bounds only this function's own wait, as the
-- clause restores the caller's value when the function returns. Without it the timeout
-- lasted for the rest of the transaction, and a later wait ended in a raw 55P03, not BUSY.)
SET lock_timeout = 0
AS $$
DECLARE
    v_exam hubspot_sync.hubspot_mock_exams;
BEGIN
    SELECT * INTO v_exam FROM hubspot_sync.hubspot_mock_exams
    WHERE hubspot_id = p_hubspot_id
    FOR NO KEY UPDATE SKIP LOCKED;
    IF v_exam.id IS NOT NULL THEN
        RETURN v_exam;
    END IF;
    PERFORM set_config('lock_timeout',
                       coalesce(nullif(current_setting('mockbook.lock_timeout', true), ''), '2s'),
                       true);
    BEGIN
        SELECT * INTO v_exam FROM hubspot_sync.hubspot_mock_exams
        WHERE hubspot_id = p_hubspot_id
        FOR NO KEY UPDATE;
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN  -- 40P01: a cycle with a
        -- transaction outside the lock order (ad-hoc SQL): the same answer as a long wait
        PERFORM mockbook_internal.raise_error('BUSY',
            format('Exam %s is busy (lock wait exceeded).', p_hubspot_id));
    END;
    IF v_exam.id IS NULL THEN
        PERFORM mockbook_internal.raise_error('EXAM_NOT_FOUND', format('No exam %L.', p_hubspot_id));
    END IF;
    RETURN v_exam;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_exam(text) IS
'Internal: locks an exam row (last in the lock order contact, booking, exam; BUSY after mockbook.lock_timeout, default 2s).';
REVOKE ALL ON FUNCTION mockbook_internal.lock_exam(text) FROM PUBLIC, anon, authenticated, service_role;
