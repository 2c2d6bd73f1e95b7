-- Frozen copy of db/functions/internal/record_sync_run.sql (new).
-- Why: sync_health reports when each glue job last ran.
CREATE OR REPLACE FUNCTION mockbook_internal.record_sync_run(p_sync_type text, p_status text,
                                                       p_records integer DEFAULT 0,
                                                       p_error text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    IF coalesce(p_sync_type, '') = '' OR length(p_sync_type) > 64
       OR p_status IS NULL OR p_status NOT IN ('success', 'failed')
       OR coalesce(p_records, 0) < 0 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'record_sync_run needs a sync type (1..64 characters), a status success|failed and '
            'a count >= 0.');
    END IF;
    INSERT INTO hubspot_sync.sync_metadata AS m (
        sync_type, last_sync_timestamp, last_sync_status, records_synced, error_message)
    VALUES (p_sync_type, now(), p_status, coalesce(p_records, 0), p_error)
    ON CONFLICT (sync_type) DO UPDATE
        SET last_sync_timestamp = excluded.last_sync_timestamp,
            last_sync_status = excluded.last_sync_status,
            records_synced = excluded.records_synced,
            error_message = excluded.error_message,
            updated_at = now();
END
$$;

COMMENT ON FUNCTION mockbook_internal.record_sync_run(text, text, integer, text) IS
'Glue: record a run of one of its jobs (push, pull:exams, ...) in sync_metadata: time, status
success|failed, records, error. Errors: INVALID_ARGUMENT. Locks: the sync_metadata row.';
REVOKE ALL ON FUNCTION mockbook_internal.record_sync_run(text, text, integer, text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.record_sync_run(text, text, integer, text) TO mockbook_glue;
