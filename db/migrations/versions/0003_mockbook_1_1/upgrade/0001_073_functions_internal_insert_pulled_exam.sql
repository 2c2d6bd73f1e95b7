-- Frozen copy of db/functions/internal/insert_pulled_exam.sql (new).
-- Why: an exam new to Postgres comes in as HubSpot holds it.
CREATE OR REPLACE FUNCTION mockbook_internal.insert_pulled_exam(p_item jsonb,
                                                                p_new hubspot_sync.hubspot_mock_exams)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_id constant text := p_item ->> 'id';
    v_exam uuid;
BEGIN
    INSERT INTO hubspot_sync.hubspot_mock_exams (
        hubspot_id, mock_exam_name, mock_type, exam_date, start_time, end_time, location,
        capacity, total_bookings, is_active, scheduled_activation_datetime, mock_set,
        prerequisite_exam_ids, hubspot_last_sync_at, created_at)
    VALUES (v_id, p_new.mock_exam_name, p_new.mock_type, p_new.exam_date, p_new.start_time,
            p_new.end_time, p_new.location, p_new.capacity, 0, p_new.is_active,
            p_new.scheduled_activation_datetime, p_new.mock_set,
            coalesce(p_new.prerequisite_exam_ids, '{}'), now(),
            mockbook_internal.pulled_created_at(p_item))
    RETURNING id INTO v_exam;
    RETURN v_exam;
EXCEPTION WHEN unique_violation THEN
    -- inserted meanwhile by another transaction: the retry updates it
    IF EXISTS (SELECT FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = v_id) THEN
        PERFORM mockbook_internal.raise_error('BUSY',
            format('Exam %s was created meanwhile by another transaction; it is applied again.',
                   v_id));
    END IF;
    RAISE;
END
$$;

COMMENT ON FUNCTION mockbook_internal.insert_pulled_exam(jsonb, hubspot_sync.hubspot_mock_exams) IS
'Internal (apply_pulled_exam): inserts p_new as a new exam. Returns its id. Errors: BUSY
(inserted meanwhile by another transaction).';
REVOKE ALL ON FUNCTION mockbook_internal.insert_pulled_exam(jsonb, hubspot_sync.hubspot_mock_exams)
    FROM PUBLIC, anon, authenticated, service_role;
