-- Undo db/functions/insert_booking.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.insert_booking;
