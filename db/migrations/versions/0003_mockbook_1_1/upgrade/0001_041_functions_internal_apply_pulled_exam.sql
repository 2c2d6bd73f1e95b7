-- Frozen copy of db/functions/internal/apply_pulled_exam.sql (new).
-- Why: HubSpot owns exams, but a pulled one never undoes local work: an unpushed local change
-- wins, an older read is not applied, a moved or closed exam takes its bookings along.
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_exam(p_item jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_id constant text := p_item ->> 'id';
    v_props jsonb;
    v_new hubspot_sync.hubspot_mock_exams;
    v_old hubspot_sync.hubspot_mock_exams;
    v_modified timestamptz;
    v_exam uuid;
    v_out jsonb;
    v_change jsonb;
    v_problem text;
BEGIN
    IF p_item ->> 'archived' = 'true' THEN
        RETURN mockbook_internal.apply_archived_exam(p_item);
    END IF;
    v_props := mockbook_internal.pulled_properties(p_item);
    v_modified := mockbook_internal.pulled_timestamp(v_props, 'hs_lastmodifieddate');
    v_new := mockbook_internal.pulled_exam_values(v_props);

    SELECT e.id INTO v_exam FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = v_id;
    IF v_exam IS NULL THEN
        v_exam := mockbook_internal.insert_pulled_exam(p_item, v_new);
        v_out := '{"inserted": 1}'::jsonb;
    ELSE
        v_old := mockbook_internal.lock_exam(v_id);
        -- older than the read applied last: nothing applied, a dead letter stays
        IF v_modified IS NOT NULL AND EXISTS (
               SELECT FROM hubspot_sync.exam_hubspot_sync AS s
               WHERE s.exam_id = v_exam AND s.hubspot_modified_at > v_modified) THEN
            RETURN '{"unchanged": 1, "applied": false}'::jsonb;
        END IF;
        v_new := mockbook_internal.pulled_keep_unknown(v_new, v_old, p_item);
        -- an unknown empty value, or a local change not pushed yet, is kept
        IF v_new.capacity IS DISTINCT FROM v_old.capacity
           AND mockbook_internal.local_change_pending('hubspot_mock_exams', v_exam, 'capacity') THEN
            v_new.capacity := v_old.capacity;
        END IF;
        IF v_new.prerequisite_exam_ids IS NULL
           OR mockbook_internal.local_change_pending('hubspot_mock_exams', v_exam,
                                                     'prerequisite_exam_ids') THEN
            v_new.prerequisite_exam_ids := v_old.prerequisite_exam_ids;
        END IF;
        v_out := jsonb_build_object('capacity_cut', CASE
            WHEN v_new.capacity IS DISTINCT FROM v_old.capacity
            THEN mockbook_internal.apply_pulled_capacity(v_old, v_new.capacity)
            ELSE '[]'::jsonb END);
        v_out := v_out || jsonb_build_object(CASE
            WHEN (v_new.mock_exam_name, v_new.mock_type, v_new.exam_date, v_new.start_time,
                  v_new.end_time, v_new.location, v_new.capacity, v_new.is_active,
                  v_new.scheduled_activation_datetime, v_new.mock_set,
                  v_new.prerequisite_exam_ids)
                 IS DISTINCT FROM
                 (v_old.mock_exam_name, v_old.mock_type, v_old.exam_date, v_old.start_time,
                  v_old.end_time, v_old.location, v_old.capacity, v_old.is_active,
                  v_old.scheduled_activation_datetime, v_old.mock_set,
                  v_old.prerequisite_exam_ids)
            THEN 'updated' ELSE 'unchanged' END, 1);
        UPDATE hubspot_sync.hubspot_mock_exams AS e SET
            mock_exam_name = v_new.mock_exam_name,
            mock_type = v_new.mock_type,
            exam_date = v_new.exam_date,
            start_time = v_new.start_time,
            end_time = v_new.end_time,
            location = v_new.location,
            is_active = v_new.is_active,
            scheduled_activation_datetime = v_new.scheduled_activation_datetime,
            mock_set = v_new.mock_set,
            prerequisite_exam_ids = v_new.prerequisite_exam_ids,
            hubspot_last_sync_at = now()
        WHERE e.id = v_exam
        RETURNING e.* INTO v_new;
        -- moved, closed or reopened in HubSpot: its bookings and waitlist follow
        v_change := mockbook_internal.apply_exam_change(v_old, v_new);
        v_out := v_out || jsonb_build_object(
            'bookings_cancelled', coalesce((v_change ->> 'cancelled')::integer, 0),
            'bookings_moved', coalesce((v_change ->> 'moved')::integer, 0),
            'conflicts', coalesce((v_change ->> 'conflicts')::integer, 0));
    END IF;
    -- times the exam trigger could not read: applied as stored, and reported
    SELECT e.time_problem INTO v_problem FROM hubspot_sync.hubspot_mock_exams AS e
    WHERE e.id = v_exam;
    IF v_problem IS NOT NULL THEN
        v_out := v_out || jsonb_build_object('time_problems', jsonb_build_array(
            jsonb_build_object('id', v_id, 'problem', v_problem)));
    END IF;
    PERFORM mockbook_internal.note_exam_read(v_exam, v_modified);
    RETURN v_out;
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_exam(jsonb) IS
'Internal (apply_pulled_records): one HubSpot exam record, inserted, updated (docs/hubspot.md) or
archived. Returns its counts and lists. Locks: the exam.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_exam(jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
