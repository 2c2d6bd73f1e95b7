-- Undo db/functions/internal/complete_sync_batch.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.complete_sync_batch;
