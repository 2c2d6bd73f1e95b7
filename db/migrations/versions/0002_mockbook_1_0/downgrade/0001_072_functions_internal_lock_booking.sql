-- Undo db/functions/internal/lock_booking.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.lock_booking;
