-- Undo db/functions/api/request_refresh.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.request_refresh;
