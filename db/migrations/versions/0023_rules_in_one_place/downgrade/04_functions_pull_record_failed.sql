-- Undo db/functions/pull_record_failed.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.pull_record_failed;
