-- Undo db/functions/internal/get_sync_cursor.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.get_sync_cursor;
