-- Undo db/functions/requeue_records.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.requeue_records;
