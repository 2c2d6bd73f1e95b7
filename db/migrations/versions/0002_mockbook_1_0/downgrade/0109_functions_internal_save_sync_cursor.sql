-- Undo db/functions/internal/save_sync_cursor.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.save_sync_cursor;
DROP FUNCTION IF EXISTS hubspot_sync.save_sync_cursor;
