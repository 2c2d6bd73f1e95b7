-- Undo db/functions/internal/complete_sync_batch.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.complete_sync_batch;
DROP FUNCTION IF EXISTS hubspot_sync.complete_sync_batch;
