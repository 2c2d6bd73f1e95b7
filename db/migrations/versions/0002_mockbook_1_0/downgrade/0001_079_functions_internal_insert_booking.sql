-- Undo db/functions/internal/insert_booking.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.insert_booking;
