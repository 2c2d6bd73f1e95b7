-- Undo db/functions/internal/fail_sync_rows.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.fail_sync_rows;
