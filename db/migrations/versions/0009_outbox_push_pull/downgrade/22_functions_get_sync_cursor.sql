-- Undo db/functions/get_sync_cursor.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.get_sync_cursor;
