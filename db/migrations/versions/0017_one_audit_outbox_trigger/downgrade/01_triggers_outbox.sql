-- Undo db/triggers/outbox.sql (deleted).
-- Frozen copy of db/triggers/outbox.sql (changed).
/**
 * hubspot_sync.queue_sync_change() -- trigger function: the outbox (SPEC §6).
 *
 * AFTER INSERT / UPDATE / DELETE, FOR EACH ROW, on hubspot_contact_credits, hubspot_mock_exams and
 * hubspot_bookings: one sync_queue row (table, record id, operation, old and new row as jsonb) per
 * relevant change. No NOTIFY: a notifying transaction commits under PostgreSQL's one
 * cluster-wide notification lock, which serialised every booking's commit (issue 13). The worker
 * wakes instead by reading the outbox's high-water mark (sync_queue_id_seq's last_value, no
 * lock) every 50 ms (glue.cache.OutboxWatch).
 * Not queued:
 *   - an UPDATE that only touches the sync bookkeeping columns synced_at, hubspot_last_sync_at,
 *     updated_at (or changes nothing);
 *   - changes the glue applies itself: its session (or transaction) sets mockbook.origin to
 *     'hubspot' (pulled from HubSpot) or 'sync' (HubSpot ids written back after a push).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.queue_sync_change()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_bookkeeping constant text[] := ARRAY['synced_at', 'hubspot_last_sync_at', 'updated_at'];
    v_old jsonb;
    v_new jsonb;
BEGIN
    IF coalesce(current_setting('mockbook.origin', true), '') IN ('hubspot', 'sync') THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        v_old := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        v_new := to_jsonb(NEW);
    END IF;
    IF TG_OP = 'UPDATE' AND (v_new - v_bookkeeping) = (v_old - v_bookkeeping) THEN
        RETURN NULL;
    END IF;
    INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data, new_data)
    VALUES (TG_TABLE_NAME, (coalesce(v_new, v_old) ->> 'id')::uuid, TG_OP, v_old, v_new);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION hubspot_sync.queue_sync_change() IS
'Trigger: writes the sync_queue outbox row of a relevant change (no NOTIFY: the worker polls the outbox''s high-water mark).';
REVOKE ALL ON FUNCTION hubspot_sync.queue_sync_change() FROM PUBLIC, anon, authenticated;

DROP TRIGGER IF EXISTS queue_sync_change ON hubspot_sync.hubspot_contact_credits;
CREATE TRIGGER queue_sync_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_contact_credits
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.queue_sync_change();

DROP TRIGGER IF EXISTS queue_sync_change ON hubspot_sync.hubspot_mock_exams;
CREATE TRIGGER queue_sync_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_mock_exams
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.queue_sync_change();

DROP TRIGGER IF EXISTS queue_sync_change ON hubspot_sync.hubspot_bookings;
CREATE TRIGGER queue_sync_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.hubspot_bookings
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.queue_sync_change();
