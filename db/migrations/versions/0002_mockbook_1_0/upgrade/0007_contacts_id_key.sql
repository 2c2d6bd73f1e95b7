-- Frozen (hand-written): contacts' UNIQUE (id), which the credit ledger references, on the index
-- 06 built concurrently.
SET lock_timeout = '5s';
ALTER TABLE hubspot_sync.hubspot_contact_credits
    ADD CONSTRAINT hubspot_contact_credits_id_key UNIQUE USING INDEX hubspot_contact_credits_id_key;
