-- Undo db/functions/cancel_locked_booking.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.cancel_locked_booking;
