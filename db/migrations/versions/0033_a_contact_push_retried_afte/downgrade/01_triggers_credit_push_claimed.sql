-- Undo db/triggers/credit_push_claimed.sql (changed).
-- Frozen copy of db/triggers/credit_push_claimed.sql (changed).
-- moved by 00_schema_changes.sql (ALTER FUNCTION ... SET SCHEMA): nothing left to drop here
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.credit_push_claimed;
/**
 * mockbook_internal.credit_push_claimed() -- trigger function: the credit merge learns what the push
 * is about to send.
 *
 * AFTER UPDATE OF lease_owner ON sync_queue, FOR EACH ROW, when a contact's outbox row is
 * claimed by a push (lease_owner set). The push sends the contact's current balances (read right
 * after the claim), so they are recorded as contact_credit_sync.pushing: if HubSpot applies them
 * but the answer is lost (or the push dies before completing), the next pull reads exactly these
 * values and knows they are the push's own write, not an admin's change (apply_pulled_contacts).
 * credit_push_done turns them into the last synced values when the push completes.
 * (A push may also call record_credit_push with the exact values it sent, which overrides these.)
 */
CREATE OR REPLACE FUNCTION mockbook_internal.credit_push_claimed()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    INSERT INTO hubspot_sync.contact_credit_sync AS s (contact_id, credits, pushing, pushing_at,
                                                       source)
    SELECT c.id, '{}'::jsonb, mockbook_internal.credit_balances(c), now(), 'push'
    FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.id = NEW.record_id
    ON CONFLICT (contact_id) DO UPDATE
        SET pushing = excluded.pushing, pushing_at = excluded.pushing_at, updated_at = now();
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.credit_push_claimed() IS
'Trigger: when a push claims a contact''s outbox row, remember the balances it is about to send (contact_credit_sync.pushing).';
REVOKE ALL ON FUNCTION mockbook_internal.credit_push_claimed() FROM PUBLIC, anon, authenticated;

CREATE OR REPLACE TRIGGER credit_push_claimed
    AFTER UPDATE OF lease_owner ON hubspot_sync.sync_queue
    FOR EACH ROW
    WHEN (NEW.table_name = 'hubspot_contact_credits' AND NEW.lease_owner IS NOT NULL
          AND OLD.lease_owner IS DISTINCT FROM NEW.lease_owner)
    EXECUTE FUNCTION mockbook_internal.credit_push_claimed();
