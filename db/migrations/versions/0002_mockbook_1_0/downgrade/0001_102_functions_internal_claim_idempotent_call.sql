-- Undo db/functions/internal/claim_idempotent_call.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.claim_idempotent_call;
