-- Undo db/functions/internal/claim_sync_batch.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.claim_sync_batch;
DROP FUNCTION IF EXISTS hubspot_sync.claim_sync_batch;
