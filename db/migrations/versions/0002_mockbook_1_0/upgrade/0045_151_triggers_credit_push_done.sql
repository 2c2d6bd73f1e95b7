-- Frozen copy of db/triggers/credit_push_done.sql (new).
/**
 * Why: once HubSpot accepted a push, what was sent is what HubSpot holds, and the credit merge
 * must compare later pulls with exactly that, or it would read the push's own write as an
 * admin's change. The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.credit_push_done()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    INSERT INTO hubspot_sync.contact_credit_sync AS s (contact_id, credits, source)
    VALUES (NEW.id, mockbook_internal.credit_balances(NEW), 'push')
    ON CONFLICT (contact_id) DO UPDATE
        SET credits = s.credits || coalesce(s.pushing, excluded.credits),
            pushing = NULL, pushing_at = NULL, source = 'push', updated_at = now();
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.credit_push_done() IS
'Trigger: when the push writes back a contact it sent, the balances sent become the last synced values of the credit merge (contact_credit_sync.credits).

AFTER UPDATE OF hubspot_last_sync_at ON hubspot_contact_credits, FOR EACH ROW, when the update
is the push''s write-back (complete_sync_batch runs with mockbook.origin = ''sync''): the
balances the push sent become the contact''s last synced values (contact_credit_sync.credits,
the base of the credit merge), so the push''s own write is never mistaken for an admin''s
change. What was sent is contact_credit_sync.pushing (recorded when the push claimed the row),
else — a contact pushed without an outbox row of its own — the current balances.
pushing is still the push''s at this point because nothing else writes it while the push
holds the contact''s lease: the pull and the webhook apply leave such a contact alone
(apply_pulled_contacts, "a push in flight"); were it cleared, the current balances, which may
hold a local change HubSpot never got, would be recorded and the next merge would take that
change back as an admin''s (tests/py/sync/test_push_pull_race.py).
Lock order (docs/rpc.md): it writes the contact_credit_sync row under its contact''s row lock,
which the UPDATE that fires it holds (complete_sync_batch locks its contacts first, ascending
id), as every writer of that table does.
Locks: the contact row (held by the firing UPDATE), then its contact_credit_sync row.';
REVOKE ALL ON FUNCTION mockbook_internal.credit_push_done() FROM PUBLIC, anon, authenticated, service_role;

CREATE OR REPLACE TRIGGER credit_push_done
    AFTER UPDATE OF hubspot_last_sync_at ON hubspot_sync.hubspot_contact_credits
    FOR EACH ROW
    WHEN (current_setting('mockbook.origin', true) = 'sync'
          AND OLD.hubspot_last_sync_at IS DISTINCT FROM NEW.hubspot_last_sync_at)
    EXECUTE FUNCTION mockbook_internal.credit_push_done();
