-- Undo db/functions/create_booking.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.create_booking;
