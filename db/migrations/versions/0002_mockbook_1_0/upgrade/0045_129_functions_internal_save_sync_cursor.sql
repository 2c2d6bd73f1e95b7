-- Frozen copy of db/functions/internal/save_sync_cursor.sql (new).
/**
 * mockbook_internal.save_sync_cursor(p_sync_type text, p_cursor jsonb) -> void
 *
 * Saves the glue's position of one of its jobs in sync_metadata.cursor (the row is created when
 * missing; last_sync_* are left to record_sync_run). A pull saves its cursor after every page it
 * applied, so an interrupted pull resumes there.
 * Errors: INVALID_ARGUMENT (empty or over-long sync type, a cursor that is not a JSON object).
 * Locks: the sync_metadata row.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.save_sync_cursor(p_sync_type text, p_cursor jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
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
