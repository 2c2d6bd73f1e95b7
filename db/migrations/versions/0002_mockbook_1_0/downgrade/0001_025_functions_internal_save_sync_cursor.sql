-- Undo db/functions/internal/save_sync_cursor.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.save_sync_cursor;
