-- bench only: NOT a valid design (the audit row gets whole rows and no changed_fields). It is
-- row_change.sql without its UPDATE diff: the floor of any faster diff, the cost of to_jsonb of
-- OLD and NEW and of the two INSERTs alone.
CREATE OR REPLACE FUNCTION hubspot_sync.bench_nodiff()
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
        WITH queued AS (
            INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data,
                                                 new_data)
            SELECT TG_TABLE_NAME, NEW.id, TG_OP, v_old, v_new
            WHERE v_queue
        )
        INSERT INTO hubspot_sync.supabase_audit_log (
            table_name, record_id, record_hubspot_id, operation, changed_fields, old_values,
            new_values, performed_by, performed_at)
        SELECT TG_TABLE_NAME, NEW.id, NEW.hubspot_id, TG_OP, '[]'::jsonb, v_old, v_new, v_who, now();
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
