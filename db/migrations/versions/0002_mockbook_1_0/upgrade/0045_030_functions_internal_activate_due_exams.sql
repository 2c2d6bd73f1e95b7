-- Frozen copy of db/functions/internal/activate_due_exams.sql (new).
-- Why: a scheduled exam is bookable from its activation time on.
CREATE OR REPLACE FUNCTION mockbook_internal.activate_due_exams(p_actor text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
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
'Glue (pull): set is_active ''true'' on scheduled exams whose activation time has passed, locked one by
one in ascending HubSpot id (lock_exam; an exam busy past mockbook.lock_timeout is left for the next
pass); returns how many. Errors: none. Locks: each due exam, ascending hubspot_id (lock_exam; a busy
one is skipped).';
REVOKE ALL ON FUNCTION mockbook_internal.activate_due_exams(text) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.activate_due_exams(text) TO mockbook_glue;
