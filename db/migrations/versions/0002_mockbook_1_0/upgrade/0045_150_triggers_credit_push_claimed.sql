-- Frozen copy of db/triggers/credit_push_claimed.sql (new).
/**
 * Why: when a push claims a contact's outbox row, the balances it is about to send are recorded
 * as "pushing", so a later pull that reads exactly them knows they are the push's own write even
 * if the answer was lost. The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.credit_push_claimed()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    -- under the contact's row lock (the lock order); a contact already gone has no row to write
    PERFORM FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.id = NEW.record_id
    FOR NO KEY UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        IF EXISTS (SELECT FROM hubspot_sync.hubspot_contact_credits AS c
                   WHERE c.id = NEW.record_id) THEN
            PERFORM mockbook_internal.raise_error('BUSY',
                format('Contact %s is in use: claimed without its row lock.', NEW.record_id));
        END IF;
        RETURN NULL;
    END IF;
    INSERT INTO hubspot_sync.contact_credit_sync AS s (contact_id, credits, pushing, pushing_at,
                                                       source)
    SELECT c.id, '{}'::jsonb, mockbook_internal.credit_balances(c), now(), 'push'
    FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.id = NEW.record_id
    ON CONFLICT (contact_id) DO UPDATE
        SET pushing = coalesce(s.pushing, excluded.pushing),
            pushing_at = CASE WHEN s.pushing IS NULL THEN excluded.pushing_at
                              ELSE s.pushing_at END,
            updated_at = now();
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.credit_push_claimed() IS
'Trigger: when a push claims a contact''s outbox row, remember the balances it is about to send (contact_credit_sync.pushing), unless an earlier attempt''s values of unknown outcome are recorded there. Runs under the contact''s row lock (claim_sync_batch takes it first, ascending id); a contact held elsewhere is BUSY, never waited for.

AFTER UPDATE OF lease_owner ON sync_queue, FOR EACH ROW, when a contact''s outbox row is
claimed by a push (lease_owner set). The push sends the contact''s current balances (read right
after the claim), so they are recorded as contact_credit_sync.pushing: if HubSpot applies them
but the answer is lost (or the push dies before completing), the next pull reads exactly these
values and knows they are the push''s own write, not an admin''s change (apply_pulled_contacts).
credit_push_done turns them into the last synced values when the push completes.
(A push may also call record_credit_push with the exact values it sent, which overrides these.)
A pushing already recorded is kept: it is an earlier attempt whose outcome is unknown (its
answer lost, its row given back for this retry), and HubSpot may hold exactly those values.
Replacing it with the current balances, which may include a local deduction made between the
attempts, would make the retry''s merge read HubSpot''s copy of the earlier attempt as an
admin''s change and count the deduction once more (tests/py/sync/test_push_lost_answer.py). The
retry''s own merge then settles the earlier attempt
(apply_pulled_contacts: a value it sent found in HubSpot''s property history) and its
record_credit_push records what the retry sends.
Lock order (docs/rpc.md): a contact_credit_sync row is written only under its contact''s row
lock. claim_sync_batch locks the contacts it claims (ascending id) before the lease that fires
this; the lock is taken here again (granted at once: this transaction holds it), and a
contact that some other writer of lease_owner did not lock first is BUSY, never waited for
out of the order, so a pull merging a contact never deadlocks with the claim
(tests/py/rpc/test_lock_order.py). The balances are read under that lock, after any pull''s merge
of the contact committed.
Errors: BUSY (the contact held by another transaction: not locked by the claim first).
Locks: the contact row (already held), then its contact_credit_sync row.';
REVOKE ALL ON FUNCTION mockbook_internal.credit_push_claimed() FROM PUBLIC, anon, authenticated, service_role;

CREATE OR REPLACE TRIGGER credit_push_claimed
    AFTER UPDATE OF lease_owner ON hubspot_sync.sync_queue
    FOR EACH ROW
    WHEN (NEW.table_name = 'hubspot_contact_credits' AND NEW.lease_owner IS NOT NULL
          AND OLD.lease_owner IS DISTINCT FROM NEW.lease_owner)
    EXECUTE FUNCTION mockbook_internal.credit_push_claimed();
