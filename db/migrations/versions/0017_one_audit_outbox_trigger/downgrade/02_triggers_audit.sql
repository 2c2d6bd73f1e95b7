-- Undo db/triggers/audit.sql (deleted).
-- Frozen copy of db/triggers/audit.sql (changed).
/**
 * hubspot_sync.audit_row_change() -- trigger function: who changed what, into supabase_audit_log.
 *
 * AFTER INSERT / UPDATE / DELETE, FOR EACH ROW, on hubspot_contact_credits, hubspot_mock_exams
 * and hubspot_bookings. One supabase_audit_log row per audited row change:
 *   table_name         TG_TABLE_NAME
 *   record_id          the row's id (uuid); record_hubspot_id its hubspot_id (may be NULL)
 *   operation          'INSERT' | 'UPDATE' | 'DELETE'
 *   changed_fields     jsonb array of column names, in alphabetical order:
 *                        UPDATE: the columns whose value changed;
 *                        INSERT: the columns given a (non-NULL) value;
 *                        DELETE: the columns that held a (non-NULL) value.
 *   old_values         UPDATE: {column: old value} of the changed columns; DELETE: the whole row
 *   new_values         UPDATE: {column: new value} of the changed columns; INSERT: the whole row
 *   performed_by       the setting mockbook.actor (functions with a p_actor set it with
 *                      set_config('mockbook.actor', p_actor, true)), else the role claim of the
 *                      PostgREST request (request.jwt.claims ->> 'role', as auth.role() reads it),
 *                      else current_user
 *   performed_at       now() (the transaction's time)
 * The sync bookkeeping columns synced_at, hubspot_last_sync_at and updated_at are never listed
 * as changed, and an UPDATE that changes nothing else writes no audit row (SPEC §3).
 * Runs as the writing role (SECURITY INVOKER): service_role may insert into the audit log.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.audit_row_change()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_bookkeeping constant text[] := ARRAY['synced_at', 'hubspot_last_sync_at', 'updated_at'];
    v_row jsonb;
    v_old jsonb;
BEGIN
    -- one statement per row: the diff and the insert together (HAVING: an UPDATE that changed
    -- only bookkeeping columns, or nothing, writes no row)
    IF TG_OP = 'UPDATE' THEN
        v_row := to_jsonb(NEW);
        v_old := to_jsonb(OLD);
        INSERT INTO hubspot_sync.supabase_audit_log (
            table_name, record_id, record_hubspot_id, operation, changed_fields, old_values,
            new_values, performed_by, performed_at)
        SELECT TG_TABLE_NAME, (v_row ->> 'id')::uuid, v_row ->> 'hubspot_id', TG_OP,
               jsonb_agg(n.key ORDER BY n.key),
               jsonb_object_agg(n.key, v_old -> n.key),
               jsonb_object_agg(n.key, n.value),
               coalesce(nullif(current_setting('mockbook.actor', true), ''),
                        nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb
                               ->> 'role', ''),
                        current_user),
               now()
        FROM jsonb_each(v_row) AS n
        WHERE n.key <> ALL (v_bookkeeping)
          AND n.value IS DISTINCT FROM v_old -> n.key
        HAVING count(*) > 0;
    ELSE
        IF TG_OP = 'INSERT' THEN
            v_row := to_jsonb(NEW);
        ELSE
            v_row := to_jsonb(OLD);
        END IF;
        INSERT INTO hubspot_sync.supabase_audit_log (
            table_name, record_id, record_hubspot_id, operation, changed_fields, old_values,
            new_values, performed_by, performed_at)
        -- the non-NULL columns: jsonb_strip_nulls drops exactly the top-level keys holding a
        -- JSON null (much cheaper than jsonb_each with a filter on every value)
        SELECT TG_TABLE_NAME, (v_row ->> 'id')::uuid, v_row ->> 'hubspot_id', TG_OP,
               coalesce(jsonb_agg(k.key ORDER BY k.key), '[]'::jsonb),
               CASE WHEN TG_OP = 'DELETE' THEN v_row END,
               CASE WHEN TG_OP = 'INSERT' THEN v_row END,
               coalesce(nullif(current_setting('mockbook.actor', true), ''),
                        nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb
                               ->> 'role', ''),
                        current_user),
               now()
        FROM jsonb_object_keys(jsonb_strip_nulls(v_row) - v_bookkeeping) AS k(key);
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION hubspot_sync.audit_row_change() IS
'Trigger: writes one supabase_audit_log row per audited change of the three synced tables '
'(changed columns only; bookkeeping-only updates are not audited; performed_by = mockbook.actor, '
'else the request''s role claim, else current_user).';
REVOKE ALL ON FUNCTION hubspot_sync.audit_row_change() FROM PUBLIC, anon, authenticated;

DROP TRIGGER IF EXISTS audit_row_change ON hubspot_sync.hubspot_contact_credits;
CREATE TRIGGER audit_row_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_contact_credits
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.audit_row_change();

DROP TRIGGER IF EXISTS audit_row_change ON hubspot_sync.hubspot_mock_exams;
CREATE TRIGGER audit_row_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_mock_exams
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.audit_row_change();

DROP TRIGGER IF EXISTS audit_row_change ON hubspot_sync.hubspot_bookings;
CREATE TRIGGER audit_row_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_bookings
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.audit_row_change();
