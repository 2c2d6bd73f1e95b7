-- Undo db/functions/refresh_analytics.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.refresh_analytics;
