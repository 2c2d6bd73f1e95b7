-- Frozen copy of db/functions/internal/resolve_dead_letters.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.resolve_dead_letters(p_action text,
                                                            p_error_ids bigint[] DEFAULT NULL,
                                                            p_actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_count integer;
BEGIN
    IF p_action IS NULL OR p_action NOT IN ('retry', 'discard') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('action %L is not retry or discard.', p_action));
    END IF;
    WITH picked AS (
        UPDATE hubspot_sync.sync_errors AS e
        SET resolved = true, resolved_at = now(), resolved_by = coalesce(p_actor, current_user),
            resolution = CASE p_action WHEN 'retry' THEN 'retried' ELSE 'discarded' END
        WHERE NOT e.resolved AND (p_error_ids IS NULL OR e.id = ANY (p_error_ids))
        RETURNING e.queue_id
    ), requeued AS (
        UPDATE hubspot_sync.sync_queue AS q
        SET dead_at = NULL,
            attempts = CASE p_action WHEN 'retry' THEN 0 ELSE q.attempts END,
            next_attempt_at = now(),
            done_at = CASE p_action WHEN 'discard' THEN now() END,
            lease_owner = NULL, lease_expires_at = NULL
        WHERE q.id IN (SELECT picked.queue_id FROM picked) AND q.dead_at IS NOT NULL
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM picked;
    RETURN jsonb_build_object('action', p_action, 'resolved', v_count);
END
$$;

COMMENT ON FUNCTION mockbook_internal.resolve_dead_letters(text, bigint[], text) IS
'Glue (mockbook dlq): retry or discard dead-lettered outbox rows and resolve their sync_errors.';
REVOKE ALL ON FUNCTION mockbook_internal.resolve_dead_letters(text, bigint[], text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.resolve_dead_letters(text, bigint[], text) TO mockbook_glue;
