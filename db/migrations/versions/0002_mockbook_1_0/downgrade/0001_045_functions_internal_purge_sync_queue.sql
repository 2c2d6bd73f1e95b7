-- Undo db/functions/internal/purge_sync_queue.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.purge_sync_queue;
