-- Undo db/functions/purge_idempotency_results.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.purge_idempotency_results;
