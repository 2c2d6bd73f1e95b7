-- Undo db/functions/sync_queue_next_due.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.sync_queue_next_due;
