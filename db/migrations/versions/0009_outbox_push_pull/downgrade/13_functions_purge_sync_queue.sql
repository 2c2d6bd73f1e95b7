-- Undo db/functions/purge_sync_queue.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.purge_sync_queue;
