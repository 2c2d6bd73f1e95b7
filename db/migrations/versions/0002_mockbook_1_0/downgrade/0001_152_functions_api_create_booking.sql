-- Undo db/functions/api/create_booking.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.create_booking;
