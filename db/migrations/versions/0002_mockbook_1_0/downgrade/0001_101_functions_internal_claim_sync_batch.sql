-- Undo db/functions/internal/claim_sync_batch.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.claim_sync_batch;
