-- Undo db/triggers/row_change.sql (changed).
-- Frozen copy of db/triggers/row_change.sql (changed).
-- moved by 00_schema_changes.sql (ALTER FUNCTION ... SET SCHEMA): nothing left to drop here
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.record_row_change;
/**
 * mockbook_internal.record_row_change() -- trigger function: the audit trail (SPEC §3) and the
 * outbox (SPEC §6) of a row change, in one trigger call.
 *
 * AFTER INSERT / UPDATE / DELETE, FOR EACH ROW, on hubspot_contact_credits, hubspot_mock_exams
 * and hubspot_bookings. Until revision 0017 these were two triggers (audit_row_change and
 * queue_sync_change), each turning the whole row into jsonb: a booking (3 row changes) made 6
 * trigger calls and 10 to_jsonb. Now each row change is one call, OLD and NEW are turned into
 * jsonb once, the UPDATE diff is computed once for both jobs, and both rows are written by one
 * statement (issue 13 item 3; measured in bench/README.md).
 *
 * Audit (supabase_audit_log, one row per audited row change):
 *   table_name         TG_TABLE_NAME
 *   record_id          the row's id (uuid); record_hubspot_id its hubspot_id (may be NULL)
 *   operation          'INSERT' | 'UPDATE' | 'DELETE'
 *   changed_fields     jsonb array of column names, in alphabetical order:
 *                        UPDATE: the columns whose value changed;
 *                        INSERT: the columns given a (non-NULL) value;
 *                        DELETE: the columns that held a (non-NULL) value.
 *   old_values         UPDATE: {column: old value} of the changed columns; DELETE: the whole row
 *   new_values         UPDATE: {column: new value} of the changed columns; INSERT: the whole row
 *   performed_by       mockbook_internal.request_actor(mockbook.actor): the user the PostgREST
 *                      request's JWT claims name ('user:<email>' / 'admin:<email>', issue 14
 *                      item 5), else the setting mockbook.actor (functions with a p_actor set
 *                      it with set_config('mockbook.actor', p_actor, true); server jobs), else
 *                      the role claim of the request (request.jwt.claims ->> 'role', as
 *                      auth.role() reads it), else current_user
 *   performed_at       now() (the transaction's time)
 * The sync bookkeeping columns synced_at, hubspot_last_sync_at and updated_at are never listed
 * as changed, and an UPDATE that changes nothing else writes no audit row.
 *
 * Outbox (sync_queue, one row per relevant change: table, record id, operation, old and new
 * row as jsonb). No NOTIFY: the worker wakes by reading the outbox's high-water mark
 * (glue.cache.OutboxWatch). Not queued:
 *   - an UPDATE that only touches the bookkeeping columns (or changes nothing): the same test as
 *     the audit's, so such an update writes neither row;
 *   - changes the glue applies itself: its session (or transaction) sets mockbook.origin to
 *     'hubspot' (pulled from HubSpot) or 'sync' (HubSpot ids written back after a push); these
 *     are still audited.
 * Runs as the writing role (SECURITY INVOKER): service_role may insert into both tables.
 */
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

COMMENT ON FUNCTION mockbook_internal.record_row_change() IS
'Trigger: one call per change of the three synced tables writes its supabase_audit_log row '
'(changed columns only; performed_by = the JWT user of the request (request_actor), else '
'mockbook.actor, else the request''s role claim, else current_user) and its sync_queue outbox row (unless mockbook.origin is hubspot or sync); a '
'bookkeeping-only update writes neither.';
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
