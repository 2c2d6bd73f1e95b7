-- Frozen copy of db/functions/internal/purge_sync_queue.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.purge_sync_queue(p_retention interval DEFAULT '7 days')
RETURNS bigint
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
    WITH gone AS (
        DELETE FROM hubspot_sync.sync_queue AS q
        WHERE q.done_at IS NOT NULL AND q.done_at < now() - coalesce(p_retention, '7 days')
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$;

COMMENT ON FUNCTION mockbook_internal.purge_sync_queue(interval) IS
'Glue: delete outbox rows done longer ago than the retention period (default 7 days).';
REVOKE ALL ON FUNCTION mockbook_internal.purge_sync_queue(interval) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.purge_sync_queue(interval) TO mockbook_glue;
