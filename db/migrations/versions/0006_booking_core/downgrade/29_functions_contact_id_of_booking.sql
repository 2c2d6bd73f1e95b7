-- Undo db/functions/contact_id_of_booking.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.contact_id_of_booking;
