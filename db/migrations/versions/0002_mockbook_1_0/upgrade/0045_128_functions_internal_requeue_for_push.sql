-- Frozen copy of db/functions/internal/requeue_for_push.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.requeue_for_push(p_table text DEFAULT NULL,
                                                        p_exam_hubspot_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_count bigint;
BEGIN
    IF p_table IS NOT NULL AND p_table NOT IN (
        'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings',
        'waitlist_entries') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('table %L is not hubspot_contact_credits, hubspot_mock_exams, '
                   'hubspot_bookings or waitlist_entries.', p_table));
    END IF;
    IF p_exam_hubspot_id IS NOT NULL AND NOT EXISTS (
        SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = p_exam_hubspot_id) THEN
        PERFORM mockbook_internal.raise_error('EXAM_NOT_FOUND', format('No exam %L.', p_exam_hubspot_id));
    END IF;
    WITH records AS (
        SELECT 'hubspot_bookings' AS table_name, b.id, to_jsonb(b) AS data
        FROM hubspot_sync.hubspot_bookings AS b
        WHERE coalesce(p_table, 'hubspot_bookings') = 'hubspot_bookings'
          AND (p_exam_hubspot_id IS NULL OR b.associated_mock_exam = p_exam_hubspot_id)
        UNION ALL
        SELECT 'waitlist_entries', w.sync_id, to_jsonb(w)
        FROM hubspot_sync.waitlist_entries AS w
        WHERE coalesce(p_table, 'waitlist_entries') = 'waitlist_entries'
          AND (p_exam_hubspot_id IS NULL OR w.mock_exam_id = p_exam_hubspot_id)
        UNION ALL
        SELECT 'hubspot_mock_exams', e.id, to_jsonb(e)
        FROM hubspot_sync.hubspot_mock_exams AS e
        WHERE coalesce(p_table, 'hubspot_mock_exams') = 'hubspot_mock_exams'
          AND (p_exam_hubspot_id IS NULL OR e.hubspot_id = p_exam_hubspot_id)
        UNION ALL
        SELECT 'hubspot_contact_credits', c.id, to_jsonb(c)
        FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE coalesce(p_table, 'hubspot_contact_credits') = 'hubspot_contact_credits'
          AND (p_exam_hubspot_id IS NULL OR EXISTS (
                SELECT FROM hubspot_sync.hubspot_bookings AS b
                WHERE b.associated_mock_exam = p_exam_hubspot_id AND b.student_id = c.student_id)
               OR EXISTS (
                SELECT FROM hubspot_sync.waitlist_entries AS w
                WHERE w.mock_exam_id = p_exam_hubspot_id AND w.contact_id = c.id))
    ), queued AS (
        INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data, new_data)
        SELECT r.table_name, r.id, 'UPDATE', NULL, r.data
        FROM records AS r
        WHERE NOT EXISTS (
            SELECT FROM hubspot_sync.sync_queue AS q
            WHERE q.table_name = r.table_name AND q.record_id = r.id
              AND q.done_at IS NULL AND q.dead_at IS NULL)
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM queued;
    RETURN v_count;
END
$$;

COMMENT ON FUNCTION mockbook_internal.requeue_for_push(text, text) IS
'Glue (mockbook push --all): queue the current state of every record (waitlist places included), or
of one exam''s bookings and places.';
REVOKE ALL ON FUNCTION mockbook_internal.requeue_for_push(text, text) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.requeue_for_push(text, text) TO mockbook_glue;
