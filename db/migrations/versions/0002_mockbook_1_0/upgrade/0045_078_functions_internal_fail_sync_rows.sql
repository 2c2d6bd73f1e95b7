-- Frozen copy of db/functions/internal/fail_sync_rows.sql (new).
-- Why: a failed push gives its rows back with a backoff, and dead-letters a row after a bound, so
-- HubSpot's hiccups and rate limits never lose or loop a change.
CREATE OR REPLACE FUNCTION mockbook_internal.fail_sync_rows(p_worker text, p_ids bigint[], p_error text,
                                                      p_max_attempts integer DEFAULT 8,
                                                      p_retry_after_seconds numeric DEFAULT NULL,
                                                      p_count_attempt boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_retried integer;
    v_dead integer;
BEGIN
    WITH mine AS (
        SELECT q.id, q.attempts - CASE WHEN p_count_attempt THEN 0 ELSE 1 END AS attempts
        FROM hubspot_sync.sync_queue AS q
        WHERE q.id = ANY (p_ids) AND q.lease_owner = p_worker AND q.done_at IS NULL
        FOR UPDATE
    ), dead AS (
        UPDATE hubspot_sync.sync_queue AS q
        SET dead_at = now(), lease_owner = NULL, lease_expires_at = NULL, last_error = p_error,
            attempts = mine.attempts
        FROM mine
        WHERE q.id = mine.id AND mine.attempts >= p_max_attempts
        RETURNING q.*
    ), logged AS (
        INSERT INTO hubspot_sync.sync_errors (queue_id, entity_type, entity_id, direction,
                                              operation, error, payload, attempts)
        SELECT d.id, d.table_name, d.record_id::text, 'push', d.operation, p_error, d.new_data,
               d.attempts
        FROM dead AS d
        RETURNING 1
    ), retried AS (
        UPDATE hubspot_sync.sync_queue AS q
        SET lease_owner = NULL, lease_expires_at = NULL, last_error = p_error,
            attempts = mine.attempts,
            next_attempt_at = now() + make_interval(secs => coalesce(
                p_retry_after_seconds,
                least(600, 2 * power(2, greatest(mine.attempts, 1) - 1)) * (0.5 + random() / 2)))
        FROM mine
        WHERE q.id = mine.id AND mine.attempts < p_max_attempts
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM retried), (SELECT count(*) FROM logged) INTO v_retried, v_dead;
    RETURN jsonb_build_object('retried', v_retried, 'dead', v_dead);
END
$$;

COMMENT ON FUNCTION mockbook_internal.fail_sync_rows(text, bigint[], text, integer, numeric, boolean) IS
'Glue: release failed outbox rows with backoff and jitter; dead-letter them after N attempts.';
REVOKE ALL ON FUNCTION mockbook_internal.fail_sync_rows(text, bigint[], text, integer, numeric, boolean)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.fail_sync_rows(text, bigint[], text, integer, numeric, boolean)
    TO mockbook_glue;
