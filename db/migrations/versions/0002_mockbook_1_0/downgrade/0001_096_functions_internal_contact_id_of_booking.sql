-- Undo db/functions/internal/contact_id_of_booking.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.contact_id_of_booking;
