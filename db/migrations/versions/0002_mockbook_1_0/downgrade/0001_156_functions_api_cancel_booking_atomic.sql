-- Undo db/functions/api/cancel_booking_atomic.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.cancel_booking_atomic;
