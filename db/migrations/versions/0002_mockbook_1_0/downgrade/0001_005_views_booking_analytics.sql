-- Undo db/views/booking_analytics.sql (new).
DROP MATERIALIZED VIEW IF EXISTS hubspot_sync.booking_analytics;
