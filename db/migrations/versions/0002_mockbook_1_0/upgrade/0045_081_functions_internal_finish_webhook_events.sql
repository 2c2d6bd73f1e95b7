-- Frozen copy of db/functions/internal/finish_webhook_events.sql (new).
-- Why: a webhook event that failed is retried with a backoff and given up after a bound, so one bad
-- event never blocks the others.
CREATE OR REPLACE FUNCTION mockbook_internal.finish_webhook_events(p_ids bigint[],
                                                              p_error text DEFAULT NULL,
                                                              p_max_attempts integer DEFAULT 10)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_count integer;
BEGIN
    IF p_ids IS NULL OR p_max_attempts IS NULL OR p_max_attempts NOT BETWEEN 1 AND 100 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'finish_webhook_events needs an array of ids and p_max_attempts 1..100.');
    END IF;
    IF p_error IS NULL THEN
        UPDATE hubspot_sync.webhook_events AS w
        SET processed_at = now(), leased_until = NULL, last_error = NULL
        WHERE w.id = ANY (p_ids) AND w.processed_at IS NULL;
    ELSE
        UPDATE hubspot_sync.webhook_events AS w
        SET last_error = left(p_error, 2000),
            leased_until = now() + make_interval(secs => least(power(2, w.attempts), 300)),
            processed_at = CASE WHEN w.attempts >= p_max_attempts THEN now() END
        WHERE w.id = ANY (p_ids) AND w.processed_at IS NULL;
    END IF;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    DELETE FROM hubspot_sync.webhook_events AS w
    WHERE w.id IN (SELECT o.id FROM hubspot_sync.webhook_events AS o
                   WHERE o.processed_at < now() - interval '7 days'
                   ORDER BY o.processed_at LIMIT 1000);
    RETURN v_count;
END
$$;

COMMENT ON FUNCTION mockbook_internal.finish_webhook_events(bigint[], text, integer) IS
'Glue (webhook processor): mark claimed webhook events processed, or failed (due again after a
backoff; given up after p_max_attempts); deletes processed events older than 7 days. Returns the
number updated. Errors: INVALID_ARGUMENT. Locks: the given webhook_events rows.';
REVOKE ALL ON FUNCTION mockbook_internal.finish_webhook_events(bigint[], text, integer)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.finish_webhook_events(bigint[], text, integer)
    TO mockbook_glue;
