-- Undo db/functions/internal/claim_idempotency_key.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.claim_idempotency_key;
