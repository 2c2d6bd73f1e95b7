-- Undo db/functions/claim_idempotency_key.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.claim_idempotency_key;
