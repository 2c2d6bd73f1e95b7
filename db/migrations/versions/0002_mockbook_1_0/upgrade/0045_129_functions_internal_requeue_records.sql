-- Frozen copy of db/functions/internal/requeue_records.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.requeue_records(p_table text, p_record_ids uuid[])
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_count bigint;
BEGIN
    IF p_table IS NULL OR p_table NOT IN (
        'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('table %L is not hubspot_contact_credits, hubspot_mock_exams or hubspot_bookings.',
                   p_table));
    END IF;
    WITH records AS (
        SELECT b.id, to_jsonb(b) AS data FROM hubspot_sync.hubspot_bookings AS b
        WHERE p_table = 'hubspot_bookings' AND b.id = ANY (p_record_ids)
        UNION ALL
        SELECT c.id, to_jsonb(c) FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE p_table = 'hubspot_contact_credits' AND c.id = ANY (p_record_ids)
        UNION ALL
        SELECT e.id, to_jsonb(e) FROM hubspot_sync.hubspot_mock_exams AS e
        WHERE p_table = 'hubspot_mock_exams' AND e.id = ANY (p_record_ids)
    ), queued AS (
        INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data, new_data)
        SELECT p_table, r.id, 'UPDATE', NULL, r.data
        FROM records AS r
        WHERE NOT EXISTS (
            SELECT FROM hubspot_sync.sync_queue AS q
            WHERE q.table_name = p_table AND q.record_id = r.id
              AND q.done_at IS NULL AND q.dead_at IS NULL AND q.lease_owner IS NULL)
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM queued;
    RETURN v_count;
END
$$;

COMMENT ON FUNCTION mockbook_internal.requeue_records(text, uuid[]) IS
'Glue (reconcile --repair): queue the current state of the given records of one table for the next
push. Returns rows queued. Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.requeue_records(text, uuid[]) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.requeue_records(text, uuid[]) TO mockbook_glue;
