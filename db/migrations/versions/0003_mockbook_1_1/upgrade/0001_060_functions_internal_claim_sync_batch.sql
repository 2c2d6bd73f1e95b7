-- Frozen copy of db/functions/internal/claim_sync_batch.sql (changed).
-- Why: several glue workers push the outbox at once. Half of each claim is the oldest due rows,
-- half the newest: a backlog drains while fresh changes (live bookings) wait one claim, not
-- the whole backlog. The due rows are read in the order of the time each can next be claimed
-- (its next attempt, or its lease's end), the order of one index: a leased row is not due
-- there, so a claim reads the rows it takes, not those in flight (a record's 10,000 rows leased
-- at once included).
CREATE OR REPLACE FUNCTION mockbook_internal.claim_sync_batch(p_worker text, p_limit integer DEFAULT 100,
                                                        p_lease_seconds integer DEFAULT 60)
RETURNS SETOF hubspot_sync.sync_queue
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
SECURITY DEFINER
SET search_path = ''
-- The plan's shape is fixed, whatever the statistics say (a table loaded since its last
-- ANALYZE, indexes made on an empty one): the due rows in idx_sync_queue_due's order, then
-- lookups by record in idx_sync_queue_by_record (the lease test names done_at IS NULL: a lease
-- is set only while a row is pending, and the test is then one range of that index); EXISTS
-- ( ... OFFSET 0) is probed row by row, never hashed over the table.
SET enable_seqscan = off
SET enable_bitmapscan = off
-- (the disabled paths' cost would otherwise make a few-row query worth compiling: no JIT)
SET jit = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_sort = off
AS $$
DECLARE
    v_ids bigint[];
    v_left uuid[];
BEGIN
    IF coalesce(p_worker, '') = '' OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000
       OR p_lease_seconds IS NULL OR p_lease_seconds NOT BETWEEN 1 AND 3600 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'claim_sync_batch needs a worker name, a limit of 1..1000 and a lease of 1..3600 s.');
    END IF;
    -- the due rows and the other pending rows of their records (SKIP LOCKED: never waited for);
    -- a row of a record under a live lease is left to that lease's worker
    WITH due_old AS (
        SELECT q.id, q.table_name, q.record_id
        FROM hubspot_sync.sync_queue AS q
        WHERE q.done_at IS NULL AND q.dead_at IS NULL
          AND greatest(q.next_attempt_at, coalesce(q.lease_expires_at, q.next_attempt_at))
              <= now()
          AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())
          AND NOT EXISTS (SELECT FROM hubspot_sync.sync_queue AS o
                          WHERE o.table_name = q.table_name AND o.record_id = q.record_id
                            AND o.done_at IS NULL AND o.lease_expires_at >= now()
                          OFFSET 0)
        ORDER BY greatest(q.next_attempt_at, coalesce(q.lease_expires_at, q.next_attempt_at)),
                 q.id
        LIMIT p_limit - p_limit / 2
        FOR UPDATE SKIP LOCKED
    ), due_new AS (  -- the newest due rows, from the other end of the same index
        SELECT q.id, q.table_name, q.record_id
        FROM hubspot_sync.sync_queue AS q
        WHERE q.done_at IS NULL AND q.dead_at IS NULL
          AND greatest(q.next_attempt_at, coalesce(q.lease_expires_at, q.next_attempt_at))
              <= now()
          AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())
          AND NOT EXISTS (SELECT FROM hubspot_sync.sync_queue AS o
                          WHERE o.table_name = q.table_name AND o.record_id = q.record_id
                            AND o.done_at IS NULL AND o.lease_expires_at >= now()
                          OFFSET 0)
          AND q.id NOT IN (SELECT d.id FROM due_old AS d)
        ORDER BY greatest(q.next_attempt_at, coalesce(q.lease_expires_at, q.next_attempt_at)) DESC,
                 q.id DESC
        LIMIT p_limit / 2
        FOR UPDATE SKIP LOCKED
    ), records AS (
        SELECT DISTINCT d.table_name, d.record_id
        FROM (SELECT * FROM due_old UNION ALL SELECT * FROM due_new) AS d
    )
    -- each due record's pending rows, looked up by the record (its dead rows, locked with them
    -- for the moment of the claim, are left out after the lookup)
    SELECT array_agg(s.id) INTO v_ids
    FROM records AS r
    CROSS JOIN LATERAL (
        SELECT q.id, q.dead_at FROM hubspot_sync.sync_queue AS q
        WHERE q.table_name = r.table_name AND q.record_id = r.record_id AND q.done_at IS NULL
          AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())
        OFFSET 0  -- the test of dead rows is not pushed down into the lookup
        FOR UPDATE OF q SKIP LOCKED) AS s
    WHERE s.dead_at IS NULL;
    -- the lock order: the contacts being claimed, ascending id, before their leases fire
    -- credit_push_claimed (their contact_credit_sync rows are written under these locks)
    v_left := mockbook_internal.lock_contacts(
        ARRAY(SELECT q.record_id FROM hubspot_sync.sync_queue AS q
              WHERE q.id = ANY (v_ids) AND q.table_name = 'hubspot_contact_credits'),
        p_leave_busy => true);
    RETURN QUERY
    UPDATE hubspot_sync.sync_queue AS q
    SET lease_owner = p_worker,
        lease_expires_at = now() + make_interval(secs => p_lease_seconds),
        attempts = q.attempts + 1
    WHERE q.id = ANY (v_ids)
      -- a contact still busy is left for a later claim; one another claim leased while this
      -- one waited for it (this statement sees that claim's commit) is that claim's
      AND NOT (q.table_name = 'hubspot_contact_credits'
               AND (q.record_id = ANY (v_left)
                    OR EXISTS (SELECT FROM hubspot_sync.sync_queue AS o
                               WHERE o.table_name = q.table_name
                                 AND o.record_id = q.record_id
                                 AND o.done_at IS NULL AND o.lease_expires_at >= now()
                                 AND o.id <> ALL (v_ids)
                               OFFSET 0)))
    RETURNING q.*;
END
$$;

COMMENT ON FUNCTION mockbook_internal.claim_sync_batch(text, integer, integer) IS
'Glue: lease up to p_limit due outbox rows, half the oldest, half the newest (SKIP LOCKED; all
pending rows of the same records), in the order each can next be claimed (its next attempt, or
its lease''s end). The claimed contacts are locked first, ascending id, each waited for at most
mockbook.lock_timeout; one still busy is left for a later claim.';
REVOKE ALL ON FUNCTION mockbook_internal.claim_sync_batch(text, integer, integer)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.claim_sync_batch(text, integer, integer) TO mockbook_glue;
