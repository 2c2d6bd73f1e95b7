-- Design "two" of bench/trigger_ab.py, its first half: the audit trigger as it was before
-- record_row_change did both jobs (audit_row_change: its own to_jsonb of OLD and NEW, its own
-- diff). Measurement only; installed beside the shipped trigger and toggled per leg.
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
