-- Frozen copy of db/functions/internal/sync_queue_next_due.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.sync_queue_next_due()
RETURNS numeric
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
    SELECT round(greatest(0, extract(epoch FROM n.next_claimable - now())), 3)
    FROM (SELECT min(greatest(q.next_attempt_at,
                              coalesce(q.lease_expires_at, q.next_attempt_at))) AS next_claimable
          FROM hubspot_sync.sync_queue AS q
          WHERE q.done_at IS NULL AND q.dead_at IS NULL) AS n
    WHERE n.next_claimable IS NOT NULL
$$;

COMMENT ON FUNCTION mockbook_internal.sync_queue_next_due() IS
'Glue (mockbook push): seconds until the next pending outbox row can be claimed (0: now; NULL:
nothing pending).';
REVOKE ALL ON FUNCTION mockbook_internal.sync_queue_next_due() FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.sync_queue_next_due() TO mockbook_glue;
