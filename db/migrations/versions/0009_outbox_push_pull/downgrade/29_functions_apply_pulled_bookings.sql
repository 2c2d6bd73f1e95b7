-- Undo db/functions/apply_pulled_bookings.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.apply_pulled_bookings;
