-- bench only: NOT a valid design. The two rows of a change with no jsonb at all (same
-- performed_by computation): the cost of the rows alone.
CREATE OR REPLACE FUNCTION hubspot_sync.bench_nojsonb()
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
    WITH queued AS (
        INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation)
        SELECT TG_TABLE_NAME, NEW.id, TG_OP WHERE v_queue)
    INSERT INTO hubspot_sync.supabase_audit_log (table_name, record_id, record_hubspot_id,
        operation, performed_by, performed_at)
    VALUES (TG_TABLE_NAME, NEW.id, NEW.hubspot_id, TG_OP, v_who, now());
    RETURN NULL;
END
$$;
