-- Undo db/functions/pulled_int.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.pulled_int;
