-- Undo db/functions/save_sync_cursor.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.save_sync_cursor;
