-- Undo db/functions/lock_idempotency_key.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.lock_idempotency_key;
