-- Undo db/functions/pulled_timestamp.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.pulled_timestamp;
