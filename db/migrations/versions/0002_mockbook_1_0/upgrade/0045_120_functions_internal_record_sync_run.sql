-- Frozen copy of db/functions/internal/record_sync_run.sql (new).
/**
 * Why: sync_health reports when each glue job last ran; the glue records its runs here, in one
 * shape. The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.record_sync_run(p_sync_type text, p_status text,
                                                       p_records integer DEFAULT 0,
                                                       p_error text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
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
'Glue: record a run of one of its jobs (push, pull:exams, ...) in sync_metadata: time, status success|failed, records, error. Errors: INVALID_ARGUMENT.

The glue records each run of one of its jobs in sync_metadata (one row per sync_type, e.g.
''push'', ''pull:exams''): last_sync_timestamp now(), last_sync_status, records_synced,
error_message. sync_health reports the newest ''success'' of push[:x] and pull[:x] types as
last_push_at / last_pull_at. Cursors (sync_metadata.cursor) are left untouched.
Args: p_status  success | failed (a run that completed, even if it dead-lettered some records,
                is a success: dead letters are counted separately)
Errors: INVALID_ARGUMENT (empty sync type, unknown status, negative count).
Locks: the sync_metadata row.';
REVOKE ALL ON FUNCTION mockbook_internal.record_sync_run(text, text, integer, text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.record_sync_run(text, text, integer, text) TO mockbook_glue;
