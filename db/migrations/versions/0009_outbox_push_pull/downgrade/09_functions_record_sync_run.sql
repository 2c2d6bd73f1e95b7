-- Undo db/functions/record_sync_run.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.record_sync_run;
