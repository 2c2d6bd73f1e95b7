-- Undo db/functions/store_idempotent_result.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.store_idempotent_result;
