-- Frozen copy of db/functions/internal/purge_idempotency_results.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.purge_idempotency_results(
    p_retention interval DEFAULT '24 hours')
RETURNS bigint
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
    WITH gone AS (
        DELETE FROM hubspot_sync.idempotency_results AS r
        WHERE r.created_at < now() - coalesce(p_retention, '24 hours')
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$;

COMMENT ON FUNCTION mockbook_internal.purge_idempotency_results(interval) IS
'Glue: delete the stored results of keyed writes older than the retention (default 24 hours).';
REVOKE ALL ON FUNCTION mockbook_internal.purge_idempotency_results(interval)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.purge_idempotency_results(interval) TO mockbook_glue;
