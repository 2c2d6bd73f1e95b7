-- Undo db/functions/internal/record_sync_run.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.record_sync_run;
DROP FUNCTION IF EXISTS hubspot_sync.record_sync_run;
