-- Undo db/functions/api/check_idempotency_key.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.check_idempotency_key;
