-- Frozen copy of db/functions/internal/get_sync_cursor.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.get_sync_cursor(p_sync_type text)
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
    SELECT coalesce((SELECT m.cursor FROM hubspot_sync.sync_metadata AS m
                     WHERE m.sync_type = p_sync_type), '{}'::jsonb)
$$;

COMMENT ON FUNCTION mockbook_internal.get_sync_cursor(text) IS
'Glue: the saved cursor (sync_metadata.cursor) of a sync type, {} when none.';
REVOKE ALL ON FUNCTION mockbook_internal.get_sync_cursor(text) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.get_sync_cursor(text) TO mockbook_glue;
