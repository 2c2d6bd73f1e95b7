-- Frozen copy of db/functions/internal/save_sync_cursor.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.save_sync_cursor(p_sync_type text, p_cursor jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    IF coalesce(p_sync_type, '') = '' OR length(p_sync_type) > 64
       OR jsonb_typeof(p_cursor) IS DISTINCT FROM 'object' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'save_sync_cursor needs a sync type (1..64 characters) and a JSON object.');
    END IF;
    INSERT INTO hubspot_sync.sync_metadata AS m (sync_type, cursor)
    VALUES (p_sync_type, p_cursor)
    ON CONFLICT (sync_type) DO UPDATE SET cursor = excluded.cursor, updated_at = now();
END
$$;

COMMENT ON FUNCTION mockbook_internal.save_sync_cursor(text, jsonb) IS
'Glue: save the cursor (a JSON object) of a sync type in sync_metadata. Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.save_sync_cursor(text, jsonb) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.save_sync_cursor(text, jsonb) TO mockbook_glue;
