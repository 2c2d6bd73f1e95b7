-- Undo db/functions/claim_sync_batch.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.claim_sync_batch;
