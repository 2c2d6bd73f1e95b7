-- Undo db/functions/internal/new_booking_code.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.new_booking_code;
