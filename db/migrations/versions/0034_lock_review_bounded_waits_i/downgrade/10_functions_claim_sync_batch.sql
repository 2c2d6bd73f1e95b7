-- Undo db/functions/claim_sync_batch.sql (changed).
-- Frozen copy of db/functions/claim_sync_batch.sql (changed).
-- moved by 00_schema_changes.sql (ALTER FUNCTION ... SET SCHEMA): nothing left to drop here
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.claim_sync_batch;
/**
 * mockbook_internal.claim_sync_batch(p_worker, p_limit, p_lease_seconds) -> SETOF sync_queue
 *
 * A glue worker takes up to p_limit due outbox rows (done_at and dead_at NULL, next_attempt_at
 * reached, no live lease) with FOR UPDATE SKIP LOCKED, so several workers never take the same
 * row, and leases them for p_lease_seconds: if the worker dies, the rows come back when the lease
 * expires. Every other due, unleased row of the same records is taken too, so one record's
 * changes are pushed once, as its current state, by one worker; and a record another worker
 * holds a live lease on is not taken at all (a change queued while it is being pushed waits for
 * that push, so two workers never send two states of one record in the wrong order).
 * Each claim counts one attempt.
 * Errors: INVALID_ARGUMENT (empty worker, limit outside 1..1000, lease outside 1..3600).
 */
CREATE OR REPLACE FUNCTION mockbook_internal.claim_sync_batch(p_worker text, p_limit integer DEFAULT 100,
                                                        p_lease_seconds integer DEFAULT 60)
RETURNS SETOF hubspot_sync.sync_queue
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    IF coalesce(p_worker, '') = '' OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000
       OR p_lease_seconds IS NULL OR p_lease_seconds NOT BETWEEN 1 AND 3600 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'claim_sync_batch needs a worker name, a limit of 1..1000 and a lease of 1..3600 s.');
    END IF;
    RETURN QUERY
    WITH due AS (
        SELECT q.id, q.table_name, q.record_id
        FROM hubspot_sync.sync_queue AS q
        WHERE q.done_at IS NULL AND q.dead_at IS NULL AND q.next_attempt_at <= now()
          AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())
          -- NOT IN over the (few) leased records: a hashed subplan, linear even before the
          -- table has statistics (a NOT EXISTS became a nested loop, quadratic, on a fresh queue)
          AND (q.table_name, q.record_id) NOT IN (
                SELECT o.table_name, o.record_id
                FROM hubspot_sync.sync_queue AS o
                WHERE o.done_at IS NULL AND o.dead_at IS NULL AND o.lease_expires_at >= now())
        ORDER BY q.next_attempt_at, q.id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), siblings AS (
        SELECT q.id
        FROM hubspot_sync.sync_queue AS q
        WHERE q.done_at IS NULL AND q.dead_at IS NULL
          AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())
          -- "NOT ... NOT IN" is IN (no column here is ever NULL) planned as a hashed subplan:
          -- the join it replaces became a quadratic nested loop on a queue without statistics
          AND NOT ((q.table_name, q.record_id) NOT IN (
                SELECT d.table_name, d.record_id FROM due AS d))
        FOR UPDATE OF q SKIP LOCKED
    )
    UPDATE hubspot_sync.sync_queue AS q
    SET lease_owner = p_worker,
        lease_expires_at = now() + make_interval(secs => p_lease_seconds),
        attempts = q.attempts + 1
    WHERE q.id IN (SELECT due.id FROM due UNION SELECT siblings.id FROM siblings)
    RETURNING q.*;
END
$$;

COMMENT ON FUNCTION mockbook_internal.claim_sync_batch(text, integer, integer) IS
'Glue: lease up to p_limit due outbox rows (SKIP LOCKED; all pending rows of the same records).';
REVOKE ALL ON FUNCTION mockbook_internal.claim_sync_batch(text, integer, integer)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.claim_sync_batch(text, integer, integer) TO mockbook_glue;
