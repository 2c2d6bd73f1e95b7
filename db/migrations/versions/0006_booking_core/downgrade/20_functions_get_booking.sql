-- Undo db/functions/get_booking.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.get_booking;
