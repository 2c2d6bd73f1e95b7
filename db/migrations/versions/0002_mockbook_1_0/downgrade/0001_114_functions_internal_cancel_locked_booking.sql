-- Undo db/functions/internal/cancel_locked_booking.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.cancel_locked_booking;
