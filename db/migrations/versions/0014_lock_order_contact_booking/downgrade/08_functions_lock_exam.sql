-- Undo db/functions/lock_exam.sql (changed).
-- Frozen copy of db/functions/lock_exam.sql (new).
/**
 * hubspot_sync.lock_exam(p_hubspot_id) -> hubspot_mock_exams (the locked row)
 *
 * Lock order, everywhere: exam rows first (several exams: in ascending hubspot_id order), then
 * contact rows (hubspot_sync.lock_contact). So booking functions never deadlock each other.
 * Waits at most mockbook.lock_timeout (setting, default 2s) for a hot exam, then BUSY.
 * Errors: EXAM_NOT_FOUND, BUSY. Locks: the exam row, FOR NO KEY UPDATE, until the transaction ends.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.lock_exam(p_hubspot_id text)
RETURNS hubspot_sync.hubspot_mock_exams
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_exam hubspot_sync.hubspot_mock_exams;
BEGIN
    PERFORM set_config('lock_timeout',
                       coalesce(nullif(current_setting('mockbook.lock_timeout', true), ''), '2s'),
                       true);
    BEGIN
        SELECT * INTO v_exam FROM hubspot_sync.hubspot_mock_exams
        WHERE hubspot_id = p_hubspot_id
        FOR NO KEY UPDATE;
    EXCEPTION WHEN lock_not_available THEN
        PERFORM hubspot_sync.raise_error('BUSY',
            format('Exam %s is busy (lock wait exceeded).', p_hubspot_id));
    END;
    IF v_exam.id IS NULL THEN
        PERFORM hubspot_sync.raise_error('EXAM_NOT_FOUND', format('No exam %L.', p_hubspot_id));
    END IF;
    RETURN v_exam;
END
$$;

COMMENT ON FUNCTION hubspot_sync.lock_exam(text) IS
'Internal: locks an exam row (exam before contact; BUSY after mockbook.lock_timeout, default 2s).';
REVOKE ALL ON FUNCTION hubspot_sync.lock_exam(text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.lock_exam(text) TO service_role;
