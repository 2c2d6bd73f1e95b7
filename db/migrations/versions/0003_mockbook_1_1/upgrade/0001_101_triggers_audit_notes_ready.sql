-- Frozen copy of db/triggers/audit_notes_ready.sql (changed).
/**
 * Why: claim_audit_notes sets aside (note_waits) the audit rows waiting for a booking's or a
 * contact's HubSpot id, so that a backlog of them costs its claims nothing; the rows must come
 * back the moment that id arrives, or when the booking or contact is gone. The contract is the
 * COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.audit_notes_ready()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
-- each record's rows read by the audit log's index by record whatever the statistics say: never
-- a scan of the pending rows, which holds every waiting row of every record
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
DECLARE
    -- text in the default collation, as the index's column (TG_TABLE_NAME's is C)
    v_table constant text := TG_TABLE_NAME;
BEGIN
    -- the rows' state is tested in one expression, which the pending index cannot serve
    UPDATE hubspot_sync.supabase_audit_log AS a
    SET note_waits = false
    WHERE a.table_name = v_table AND a.record_id = OLD.id
      AND (a.note_waits AND a.synced_to_hubspot_at IS NULL) IS TRUE;
    IF v_table = 'hubspot_bookings' THEN
        -- and those of the balance changes the booking caused, by their contacts
        UPDATE hubspot_sync.supabase_audit_log AS a
        SET note_waits = false
        WHERE a.table_name = 'hubspot_contact_credits'
          AND a.record_id = ANY (ARRAY(SELECT l.contact_id FROM hubspot_sync.credit_ledger AS l
                                       WHERE l.booking_id = OLD.id))
          AND (a.note_waits AND a.synced_to_hubspot_at IS NULL) IS TRUE;
    END IF;
    RETURN OLD;  -- a delete goes on (an AFTER trigger's result is not read)
END
$$;

COMMENT ON FUNCTION mockbook_internal.audit_notes_ready() IS
'Trigger: when a booking or contact gets its HubSpot id, or is deleted, the audit rows set aside
for it (note_waits, claim_audit_notes) are pending again: its own and, for a booking, those of
the balance changes it caused. AFTER UPDATE OF hubspot_id (from NULL) or BEFORE DELETE, FOR EACH
ROW. Locks: those audit rows.';
REVOKE ALL ON FUNCTION mockbook_internal.audit_notes_ready() FROM PUBLIC, anon, authenticated, service_role;

CREATE OR REPLACE TRIGGER audit_notes_ready
    AFTER UPDATE OF hubspot_id ON hubspot_sync.hubspot_bookings
    FOR EACH ROW
    WHEN (OLD.hubspot_id IS NULL AND NEW.hubspot_id IS NOT NULL)
    EXECUTE FUNCTION mockbook_internal.audit_notes_ready();
-- before the delete: the ledger rows still name the booking
CREATE OR REPLACE TRIGGER audit_notes_ready_gone
    BEFORE DELETE ON hubspot_sync.hubspot_bookings
    FOR EACH ROW
    EXECUTE FUNCTION mockbook_internal.audit_notes_ready();
CREATE OR REPLACE TRIGGER audit_notes_ready
    AFTER UPDATE OF hubspot_id ON hubspot_sync.hubspot_contact_credits
    FOR EACH ROW
    WHEN (OLD.hubspot_id IS NULL AND NEW.hubspot_id IS NOT NULL)
    EXECUTE FUNCTION mockbook_internal.audit_notes_ready();
CREATE OR REPLACE TRIGGER audit_notes_ready_gone
    BEFORE DELETE ON hubspot_sync.hubspot_contact_credits
    FOR EACH ROW
    EXECUTE FUNCTION mockbook_internal.audit_notes_ready();
