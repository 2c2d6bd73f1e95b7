-- Undo db/functions/api/create_booking_atomic_v1.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.create_booking_atomic_v1;
