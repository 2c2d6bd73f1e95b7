-- Frozen copy of db/functions/internal/lock_exam.sql (new).
/**
 * Why: exams are last in the lock order; the functions that must read an exam under its lock
 * before writing it take it here, with the bounded wait of mockbook_internal.wait_for_lock (the
 * booking path takes its seat with take_seat instead, one statement at the end).
 * The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.lock_exam(p_hubspot_id text)
RETURNS hubspot_sync.hubspot_mock_exams
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_exam hubspot_sync.hubspot_mock_exams;
BEGIN
    PERFORM mockbook_internal.wait_for_lock('exam', p_hubspot_id);
    SELECT * INTO v_exam FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = p_hubspot_id;
    IF v_exam.id IS NULL THEN
        PERFORM mockbook_internal.raise_error('EXAM_NOT_FOUND', format('No exam %L.', p_hubspot_id));
    END IF;
    RETURN v_exam;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_exam(text) IS
'Internal: locks an exam row (last in the lock order contact, booking, exam; BUSY after mockbook.lock_timeout, default 2s).

Last in the lock order (contact, booking, exam; see mockbook_internal.lock_contact); several
exams in ascending hubspot_id order. For the functions that must read an exam under its lock
before writing it (set_exam_capacity, the pull''s recounts, mark_attendance, cancel_bookings);
the booking path takes its seat with mockbook_internal.take_seat instead, one statement at the end.
A free row is locked at once (SKIP LOCKED, no subtransaction: no MultiXact when the
transaction then updates it); a row held by another transaction is waited for at most
mockbook.lock_timeout (setting, default 2s), then BUSY.
Errors: EXAM_NOT_FOUND, BUSY. Locks: the exam row, FOR NO KEY UPDATE, until the transaction ends.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_exam(text) FROM PUBLIC, anon, authenticated, service_role;
