-- Design "two" of bench/trigger_ab.py, its second half: the outbox trigger as it was before
-- record_row_change did both jobs (queue_sync_change: its own to_jsonb of OLD and NEW).
-- Measurement only; installed beside the shipped trigger and toggled per leg.
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
