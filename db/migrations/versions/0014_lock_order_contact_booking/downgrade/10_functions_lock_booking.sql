-- Undo db/functions/lock_booking.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.lock_booking;
