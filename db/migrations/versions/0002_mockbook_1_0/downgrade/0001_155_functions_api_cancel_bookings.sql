-- Undo db/functions/api/cancel_bookings.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.cancel_bookings;
