-- Frozen copy of db/triggers/waitlist_outbox.sql (new).
/**
 * Why: the glue shows each waitlist place in HubSpot as a booking object; this trigger queues a
 * place's changes that HubSpot shows, and nothing else, for the push. The contract is the COMMENT
 * ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.queue_waitlist_change()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    IF coalesce(current_setting('mockbook.origin', true), '') IN ('hubspot', 'sync') THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE'
       AND (NEW.status, NEW.offer_expires_at, NEW.booking_id, NEW.mock_exam_id)
           IS NOT DISTINCT FROM (OLD.status, OLD.offer_expires_at, OLD.booking_id,
                                 OLD.mock_exam_id) THEN
        RETURN NULL;
    END IF;
    INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data, new_data)
    VALUES (TG_TABLE_NAME,
            CASE WHEN TG_OP = 'DELETE' THEN OLD.sync_id ELSE NEW.sync_id END,
            TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.queue_waitlist_change() IS
'Trigger: a waitlist place''s new, deleted or changed (status, offer expiry, booking, exam) state becomes a sync_queue row (record_id = sync_id) so the glue pushes it to HubSpot as a booking object; not for changes with mockbook.origin hubspot or sync.

AFTER INSERT / UPDATE / DELETE, FOR EACH ROW, on waitlist_entries. One sync_queue row
(table_name ''waitlist_entries'', record_id = the place''s sync_id, old and new row as jsonb) for
a new place, a deleted one, and an update that changes what HubSpot shows (status,
offer_expires_at, booking_id, mock_exam_id); not for the write-back of hubspot_id after a push,
nor for changes made with mockbook.origin ''hubspot'' or ''sync'' (as record_row_change).
Not audited: the places'' transitions are their own trail (offered_at, offer_expires_at,
resolved_at, booking_id), and the booking accept_offer makes is audited as every booking.
(Not record_row_change itself: a place''s id is a bigint and it has no HubSpot id of its own
before its first push, while that function keys both of its rows by a uuid id.)
Runs as the writing role (SECURITY INVOKER): service_role may insert into sync_queue.';
REVOKE ALL ON FUNCTION mockbook_internal.queue_waitlist_change() FROM PUBLIC, anon, authenticated, service_role;

CREATE OR REPLACE TRIGGER queue_waitlist_change
    AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.waitlist_entries
    FOR EACH ROW EXECUTE FUNCTION mockbook_internal.queue_waitlist_change();
