-- Frozen copy of db/functions/internal/local_change_pending.sql (new).
-- Why PL/pgSQL, not SQL: a SQL function's body is planned again on every call.
CREATE OR REPLACE FUNCTION mockbook_internal.local_change_pending(p_table text, p_record_id uuid,
                                                            p_column text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    RETURN EXISTS (
        SELECT FROM hubspot_sync.sync_queue AS q
        WHERE q.table_name = p_table
          AND q.record_id = p_record_id
          AND q.done_at IS NULL AND q.dead_at IS NULL
          AND q.old_data IS NOT NULL AND q.new_data IS NOT NULL
          AND (q.old_data -> p_column) IS DISTINCT FROM (q.new_data -> p_column));
END
$$;

COMMENT ON FUNCTION mockbook_internal.local_change_pending(text, uuid, text) IS
'Internal: whether a local change of one column of a record waits in the outbox (not pushed yet, not
dead-lettered).';
REVOKE ALL ON FUNCTION mockbook_internal.local_change_pending(text, uuid, text)
    FROM PUBLIC, anon, authenticated, service_role;
