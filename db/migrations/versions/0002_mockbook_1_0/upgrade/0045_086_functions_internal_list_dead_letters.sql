-- Frozen copy of db/functions/internal/list_dead_letters.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.list_dead_letters(p_include_resolved boolean DEFAULT false,
                                                         p_limit integer DEFAULT 1000)
RETURNS SETOF hubspot_sync.sync_errors
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 100000 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_limit %s is outside 1..100000.', p_limit));
    END IF;
    RETURN QUERY
    SELECT e.*
    FROM hubspot_sync.sync_errors AS e
    WHERE coalesce(p_include_resolved, false) OR NOT e.resolved
    ORDER BY e.id
    LIMIT p_limit;
END
$$;

COMMENT ON FUNCTION mockbook_internal.list_dead_letters(boolean, integer) IS
'Glue (mockbook dlq list): dead letters (sync_errors), oldest first; unresolved ones only unless
p_include_resolved. Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.list_dead_letters(boolean, integer)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.list_dead_letters(boolean, integer) TO mockbook_glue;
