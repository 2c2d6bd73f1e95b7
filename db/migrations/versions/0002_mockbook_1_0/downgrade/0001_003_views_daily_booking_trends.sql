-- Undo db/views/daily_booking_trends.sql (new).
DROP MATERIALIZED VIEW IF EXISTS hubspot_sync.daily_booking_trends;
