-- Undo db/functions/internal/record_sync_run.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.record_sync_run;
