-- Frozen copy of db/functions/internal/claim_webhook_events.sql (changed).
-- Why: several webhook processors may run. Events are taken in the order they fall due (received,
-- or their lease or backoff over), the order of one index: events leased or backing off cost a
-- claim nothing, however many wait.
CREATE OR REPLACE FUNCTION mockbook_internal.claim_webhook_events(p_limit integer DEFAULT 500,
                                                             p_lease_seconds integer DEFAULT 60)
RETURNS SETOF hubspot_sync.webhook_events
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
SECURITY DEFINER
SET search_path = ''
-- the plan's shape is fixed, whatever the statistics say: the due events in index order
SET enable_seqscan = off
SET enable_bitmapscan = off
-- (the disabled paths' cost would otherwise make a few-row query worth compiling: no JIT)
SET jit = off
AS $$
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000
       OR p_lease_seconds IS NULL OR p_lease_seconds NOT BETWEEN 1 AND 3600 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'claim_webhook_events needs p_limit 1..1000 and p_lease_seconds 1..3600.');
    END IF;
    RETURN QUERY
    UPDATE hubspot_sync.webhook_events AS w
    SET leased_until = now() + make_interval(secs => p_lease_seconds),
        attempts = w.attempts + 1
    WHERE w.id IN (
        SELECT p.id FROM hubspot_sync.webhook_events AS p
        WHERE p.processed_at IS NULL AND coalesce(p.leased_until, p.received_at) <= now()
        ORDER BY coalesce(p.leased_until, p.received_at), p.id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED)
    RETURNING w.*;
END
$$;

COMMENT ON FUNCTION mockbook_internal.claim_webhook_events(integer, integer) IS
'Glue (webhook processor): lease up to p_limit unprocessed webhook events for p_lease_seconds (SKIP
LOCKED), in the order they fell due (received, or their lease or backoff over), and count the
attempt. Errors: INVALID_ARGUMENT. Locks: the claimed webhook_events rows (no
exam or contact row).';
REVOKE ALL ON FUNCTION mockbook_internal.claim_webhook_events(integer, integer)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.claim_webhook_events(integer, integer) TO mockbook_glue;
