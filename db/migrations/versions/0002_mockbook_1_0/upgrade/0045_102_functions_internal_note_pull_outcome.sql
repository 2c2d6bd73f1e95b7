-- Frozen copy of db/functions/internal/note_pull_outcome.sql (new).
-- Why: a record the pull cannot apply needs one open dead letter for a person to decide on, read
-- again on every pass until it applies.
CREATE OR REPLACE FUNCTION mockbook_internal.note_pull_outcome(p_entity_type text, p_entity_id text,
                                                         p_error text,
                                                         p_payload jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_open bigint;
BEGIN
    IF coalesce(p_entity_type, '') = '' OR coalesce(p_entity_id, '') = '' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'note_pull_outcome needs an entity type and id.');
    END IF;
    SELECT e.id INTO v_open
    FROM hubspot_sync.sync_errors AS e
    WHERE e.direction = 'pull' AND NOT e.resolved
      AND e.entity_type = p_entity_type AND e.entity_id = p_entity_id
    ORDER BY e.id
    LIMIT 1
    FOR UPDATE;

    IF p_error IS NULL THEN
        IF v_open IS NOT NULL THEN
            UPDATE hubspot_sync.sync_errors
            SET resolved = true, resolved_at = now(), resolved_by = 'mockbook pull',
                resolution = 'retried'
            WHERE id = v_open;
        END IF;
    ELSIF v_open IS NULL THEN
        INSERT INTO hubspot_sync.sync_errors (entity_type, entity_id, direction, operation, error,
                                              payload, attempts)
        VALUES (p_entity_type, p_entity_id, 'pull', 'UPDATE', left(p_error, 2000), p_payload, 1);
    ELSE
        UPDATE hubspot_sync.sync_errors
        SET error = left(p_error, 2000), payload = p_payload, attempts = attempts + 1,
            last_failed_at = now()
        WHERE id = v_open;
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.note_pull_outcome(text, text, text, jsonb) IS
'Internal (pull): open or update the record''s pull dead letter (sync_errors, direction pull) when
p_error is given, close it when NULL. Errors: INVALID_ARGUMENT (no entity type or id). Locks: the
record''s open sync_errors row.';
REVOKE ALL ON FUNCTION mockbook_internal.note_pull_outcome(text, text, text, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.note_pull_outcome(text, text, text, jsonb) TO mockbook_glue;
