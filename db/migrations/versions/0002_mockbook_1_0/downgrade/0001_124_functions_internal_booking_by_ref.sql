-- Undo db/functions/internal/booking_by_ref.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.booking_by_ref;
