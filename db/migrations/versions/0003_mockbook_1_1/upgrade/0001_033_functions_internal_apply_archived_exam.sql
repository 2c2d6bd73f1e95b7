-- Frozen copy of db/functions/internal/apply_archived_exam.sql (new).
-- Why: an exam deleted in HubSpot is closed here with its bookings, and a read made before the
-- deletion counts as older.
CREATE OR REPLACE FUNCTION mockbook_internal.apply_archived_exam(p_item jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_id constant text := p_item ->> 'id';
    v_old hubspot_sync.hubspot_mock_exams;
    v_new hubspot_sync.hubspot_mock_exams;
    v_modified timestamptz;
    v_applied timestamptz;
    v_out jsonb := '{"unchanged": 1}'::jsonb;
BEGIN
    IF nullif(p_item ->> 'archivedAt', '') IS NOT NULL THEN
        BEGIN
            v_modified := mockbook_internal.pulled_timestamp(p_item, 'archivedAt');
        EXCEPTION WHEN OTHERS THEN
            v_modified := NULL;
        END;
    END IF;
    -- unknown, or already archived with its time: nothing to do, no lock
    SELECT e.* INTO v_old FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = v_id;
    IF v_old.id IS NULL THEN
        RETURN v_out;
    END IF;
    SELECT s.hubspot_modified_at INTO v_applied
    FROM hubspot_sync.exam_hubspot_sync AS s WHERE s.exam_id = v_old.id;
    IF lower(v_old.is_active) = 'false'
       AND NOT coalesce(v_modified > coalesce(v_applied, '-infinity'), false) THEN
        RETURN v_out;
    END IF;
    v_old := mockbook_internal.lock_exam(v_id);
    SELECT s.hubspot_modified_at INTO v_applied
    FROM hubspot_sync.exam_hubspot_sync AS s WHERE s.exam_id = v_old.id;
    -- a newer read (a restore in HubSpot) was applied
    IF v_modified < v_applied THEN
        RETURN v_out || '{"applied": false}'::jsonb;
    END IF;
    IF lower(v_old.is_active) IS DISTINCT FROM 'false' THEN
        UPDATE hubspot_sync.hubspot_mock_exams AS e
        SET is_active = 'false', hubspot_last_sync_at = now()
        WHERE e.id = v_old.id
        RETURNING e.* INTO v_new;
        -- cancelled in HubSpot: its bookings and waitlist follow
        v_out := jsonb_build_object('deactivated', 1, 'bookings_cancelled', coalesce(
            (mockbook_internal.apply_exam_change(v_old, v_new) ->> 'cancelled')::integer, 0));
    END IF;
    PERFORM mockbook_internal.note_exam_read(v_old.id, v_modified);
    RETURN v_out;
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_archived_exam(jsonb) IS
'Internal (apply_pulled_exam): a HubSpot exam record archived: the exam deactivated with its
bookings, its archivedAt stored. Returns its counts. Locks: the exam.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_archived_exam(jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
