-- Undo db/functions/cancel_bookings.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.cancel_bookings;
