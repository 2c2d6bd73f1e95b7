-- Undo db/functions/api/cancel_booking.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.cancel_booking;
