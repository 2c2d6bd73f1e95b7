-- Undo db/functions/api/admin_create_booking.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.admin_create_booking;
