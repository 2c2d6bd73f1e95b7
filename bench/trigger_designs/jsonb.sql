-- Design "jsonb" of bench/trigger_ab.py (and the base of its lean/narrow prototypes and of
-- bench/trigger_micro.py): record_row_change as it was before it compared columns directly,
-- the UPDATE diff walked in jsonb (jsonb_each). Measurement only: trigger_ab.py renames it.
CREATE OR REPLACE FUNCTION mockbook_internal.record_row_change()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_bookkeeping constant text[] := ARRAY['synced_at', 'hubspot_last_sync_at', 'updated_at'];
    v_queue constant boolean :=
        coalesce(current_setting('mockbook.origin', true), '') NOT IN ('hubspot', 'sync');
    v_old jsonb;
    v_new jsonb;
    -- who (performed_by): mockbook_internal.request_actor decides when the request's claims may name
    -- a user (a sub or an email claim); the test here only spares that call on the rows of the
    -- glue and of jobs, whose claims name none
    v_claims constant jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
    v_actor constant text := nullif(current_setting('mockbook.actor', true), '');
    v_who constant text := coalesce(
        CASE WHEN v_claims ?| ARRAY['sub', 'email'] THEN mockbook_internal.request_actor(v_actor) END,
        v_actor, nullif(v_claims ->> 'role', ''), current_user);
BEGIN
    IF TG_OP = 'UPDATE' THEN
        v_new := to_jsonb(NEW);
        v_old := to_jsonb(OLD);
        -- one statement: the diff (HAVING: no row when only bookkeeping columns, or nothing,
        -- changed), its audit row and, unless the glue made the change, its outbox row
        WITH diff AS (
            SELECT jsonb_agg(n.key ORDER BY n.key) AS fields,
                   jsonb_object_agg(n.key, v_old -> n.key) AS old_values,
                   jsonb_object_agg(n.key, n.value) AS new_values
            FROM jsonb_each(v_new) AS n
            WHERE n.key <> ALL (v_bookkeeping)
              AND n.value IS DISTINCT FROM v_old -> n.key
            HAVING count(*) > 0
        ), queued AS (
            INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data,
                                                 new_data)
            SELECT TG_TABLE_NAME, NEW.id, TG_OP, v_old, v_new
            FROM diff
            WHERE v_queue
        )
        INSERT INTO hubspot_sync.supabase_audit_log (
            table_name, record_id, record_hubspot_id, operation, changed_fields, old_values,
            new_values, performed_by, performed_at)
        SELECT TG_TABLE_NAME, NEW.id, NEW.hubspot_id, TG_OP, d.fields, d.old_values,
               d.new_values,
               v_who,
               now()
        FROM diff AS d;
    ELSE
        IF TG_OP = 'INSERT' THEN
            v_new := to_jsonb(NEW);
        ELSE
            v_old := to_jsonb(OLD);
        END IF;
        WITH queued AS (
            INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data,
                                                 new_data)
            SELECT TG_TABLE_NAME, (coalesce(v_new, v_old) ->> 'id')::uuid, TG_OP, v_old, v_new
            WHERE v_queue
        )
        INSERT INTO hubspot_sync.supabase_audit_log (
            table_name, record_id, record_hubspot_id, operation, changed_fields, old_values,
            new_values, performed_by, performed_at)
        -- the non-NULL columns: jsonb_strip_nulls drops exactly the top-level keys holding a
        -- JSON null (much cheaper than jsonb_each with a filter on every value)
        SELECT TG_TABLE_NAME, (coalesce(v_new, v_old) ->> 'id')::uuid,
               coalesce(v_new, v_old) ->> 'hubspot_id', TG_OP,
               coalesce(jsonb_agg(k.key ORDER BY k.key), '[]'::jsonb), v_old, v_new,
               v_who,
               now()
        FROM jsonb_object_keys(jsonb_strip_nulls(coalesce(v_new, v_old)) - v_bookkeeping)
             AS k(key);
    END IF;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION mockbook_internal.record_row_change() FROM PUBLIC, anon, authenticated;

CREATE OR REPLACE TRIGGER record_row_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_contact_credits
    FOR EACH ROW EXECUTE FUNCTION mockbook_internal.record_row_change();

CREATE OR REPLACE TRIGGER record_row_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_mock_exams
    FOR EACH ROW EXECUTE FUNCTION mockbook_internal.record_row_change();

CREATE OR REPLACE TRIGGER record_row_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_bookings
    FOR EACH ROW EXECUTE FUNCTION mockbook_internal.record_row_change();
