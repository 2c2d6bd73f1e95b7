-- Undo db/functions/fail_sync_rows.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.fail_sync_rows;
