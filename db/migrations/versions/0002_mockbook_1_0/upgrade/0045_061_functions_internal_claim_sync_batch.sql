-- Frozen copy of db/functions/internal/claim_sync_batch.sql (new).
-- Why: several glue workers push the outbox at once. Half of each claim is the oldest due rows,
-- half the newest: a backlog drains while fresh changes (live bookings) wait one claim, not
-- the whole backlog.
CREATE OR REPLACE FUNCTION mockbook_internal.claim_sync_batch(p_worker text, p_limit integer DEFAULT 100,
                                                        p_lease_seconds integer DEFAULT 60)
RETURNS SETOF hubspot_sync.sync_queue
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
SECURITY DEFINER
SET search_path = ''
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
    -- the due rows and the other pending rows of their records (SKIP LOCKED: never waited for)
    WITH leased AS MATERIALIZED (  -- the records under a live lease, read once for both ends
        SELECT o.table_name, o.record_id
        FROM hubspot_sync.sync_queue AS o
        WHERE o.done_at IS NULL AND o.dead_at IS NULL AND o.lease_expires_at >= now()
    ), due_old AS (
        SELECT q.id, q.table_name, q.record_id
        FROM hubspot_sync.sync_queue AS q
        WHERE q.done_at IS NULL AND q.dead_at IS NULL AND q.next_attempt_at <= now()
          AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())
          -- NOT IN over the (few) leased records: a hashed subplan, linear even before the
          -- table has statistics (a NOT EXISTS became a nested loop, quadratic, on a fresh queue)
          AND (q.table_name, q.record_id) NOT IN (SELECT l.table_name, l.record_id FROM leased AS l)
        ORDER BY q.next_attempt_at, q.id
        LIMIT p_limit - p_limit / 2
        FOR UPDATE SKIP LOCKED
    ), due_new AS (  -- the newest due rows, from the other end of the same index
        SELECT q.id, q.table_name, q.record_id
        FROM hubspot_sync.sync_queue AS q
        WHERE q.done_at IS NULL AND q.dead_at IS NULL AND q.next_attempt_at <= now()
          AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())
          AND (q.table_name, q.record_id) NOT IN (SELECT l.table_name, l.record_id FROM leased AS l)
          AND q.id NOT IN (SELECT d.id FROM due_old AS d)
        ORDER BY q.next_attempt_at DESC, q.id DESC
        LIMIT p_limit / 2
        FOR UPDATE SKIP LOCKED
    ), due AS (
        SELECT * FROM due_old UNION ALL SELECT * FROM due_new
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
    SELECT array_agg(t.id) INTO v_ids
    FROM (SELECT due.id FROM due UNION SELECT siblings.id FROM siblings) AS t;
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
                                 AND o.done_at IS NULL AND o.dead_at IS NULL
                                 AND o.lease_expires_at >= now()
                                 AND o.id <> ALL (v_ids))))
    RETURNING q.*;
END
$$;

COMMENT ON FUNCTION mockbook_internal.claim_sync_batch(text, integer, integer) IS
'Glue: lease up to p_limit due outbox rows, half the oldest, half the newest (SKIP LOCKED; all
pending rows of the same records). The claimed contacts are locked first, ascending id, each
waited for at most mockbook.lock_timeout; one still busy is left for a later claim.';
REVOKE ALL ON FUNCTION mockbook_internal.claim_sync_batch(text, integer, integer)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.claim_sync_batch(text, integer, integer) TO mockbook_glue;
