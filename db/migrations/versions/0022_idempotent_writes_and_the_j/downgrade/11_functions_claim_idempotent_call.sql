-- Undo db/functions/claim_idempotent_call.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.claim_idempotent_call;
