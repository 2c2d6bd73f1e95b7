-- Frozen copy of db/functions/internal/activate_due_exams.sql (new).
/**
 * Why: a scheduled exam is bookable from its activation time on; the pull makes the stored value
 * say so too, taking the due exams one by one in ascending HubSpot id (the lock order of exams)
 * and leaving a busy one for the next pass. The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.activate_due_exams(p_actor text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_exam_id text;
    v_count integer := 0;
BEGIN
    PERFORM set_config('mockbook.origin', 'hubspot', true);
    PERFORM set_config('mockbook.actor', coalesce(nullif(p_actor, ''), 'hubspot:pull'), true);
    FOR v_exam_id IN SELECT e.hubspot_id FROM hubspot_sync.hubspot_mock_exams AS e
                     WHERE lower(e.is_active) = 'scheduled'
                       AND e.scheduled_activation_datetime <= mockbook_internal.clock_now()
                     ORDER BY e.hubspot_id LOOP
        BEGIN
            PERFORM mockbook_internal.lock_exam(v_exam_id);
            UPDATE hubspot_sync.hubspot_mock_exams AS e
            SET is_active = 'true'
            WHERE e.hubspot_id = v_exam_id
              AND lower(e.is_active) = 'scheduled' AND e.scheduled_activation_datetime <= mockbook_internal.clock_now();
            IF FOUND THEN
                v_count := v_count + 1;
            END IF;
        EXCEPTION WHEN SQLSTATE 'PT503' OR SQLSTATE 'PT404' THEN
            NULL;  -- locked too long (or deleted): the next pass activates it
        END;
    END LOOP;
    RETURN v_count;
END
$$;

COMMENT ON FUNCTION mockbook_internal.activate_due_exams(text) IS
'Glue (pull): set is_active ''true'' on scheduled exams whose activation time has passed, locked one by one in ascending HubSpot id (lock_exam; an exam busy past mockbook.lock_timeout is left for the next pass); returns how many.

Exams HubSpot marked ''scheduled'' become active (''true'') once their
scheduled_activation_datetime has passed; the pull calls this on every pass (a scheduled exam
is already bookable from that moment, see exam_unbookable_reason; this makes the stored value
say so too). Runs with mockbook.origin = ''hubspot'' (HubSpot owns exams: nothing is queued),
audited as p_actor (default ''hubspot:pull''). A scheduled exam without an activation time stays
scheduled.
The due exams are taken one by one in ascending hubspot_id, the lock order of exams (one
UPDATE of them all locked them in the table''s physical order and deadlocked with a rebook
taking its two exams ascending). Each is locked with mockbook_internal.lock_exam: a free exam
at once; one held by another transaction (a seat being taken, usually for one statement) is
waited for at most mockbook.lock_timeout, then left scheduled for the next pass — not BUSY:
this is a background step, and one exam in use must not fail it. (Chosen over SKIP LOCKED,
which never waits: a short wait activates a briefly used exam in this pass, and being bounded
and in lock order it cannot deadlock.) An exam no longer due once locked is left as it is.
Errors: none. Locks: each due exam, ascending hubspot_id (lock_exam; a busy one is skipped).';
REVOKE ALL ON FUNCTION mockbook_internal.activate_due_exams(text) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.activate_due_exams(text) TO mockbook_glue;
