-- Undo db/functions/internal/purge_sync_queue.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.purge_sync_queue;
DROP FUNCTION IF EXISTS hubspot_sync.purge_sync_queue;
