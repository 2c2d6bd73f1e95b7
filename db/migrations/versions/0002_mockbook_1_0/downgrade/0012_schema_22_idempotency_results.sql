-- Undo db/schema/22_idempotency_results.sql (new).
DROP TABLE IF EXISTS hubspot_sync.idempotency_results;
