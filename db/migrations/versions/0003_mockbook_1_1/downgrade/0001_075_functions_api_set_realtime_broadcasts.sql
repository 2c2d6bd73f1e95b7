-- Undo db/functions/api/set_realtime_broadcasts.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.set_realtime_broadcasts;
