-- Undo db/functions/api/create_booking_atomic.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.create_booking_atomic;
