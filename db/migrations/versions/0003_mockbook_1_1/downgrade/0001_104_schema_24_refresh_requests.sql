-- Undo db/schema/24_refresh_requests.sql (new).
DROP TABLE IF EXISTS hubspot_sync.refresh_requests;
