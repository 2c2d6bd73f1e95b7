-- Undo db/functions/internal/booking_result.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.booking_result;
