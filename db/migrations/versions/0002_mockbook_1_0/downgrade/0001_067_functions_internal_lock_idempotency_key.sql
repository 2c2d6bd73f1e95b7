-- Undo db/functions/internal/lock_idempotency_key.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.lock_idempotency_key;
