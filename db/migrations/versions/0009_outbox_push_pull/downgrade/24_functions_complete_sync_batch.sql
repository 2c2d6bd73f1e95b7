-- Undo db/functions/complete_sync_batch.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.complete_sync_batch;
