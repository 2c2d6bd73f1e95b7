-- Undo db/functions/internal/validate_booking_args.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.validate_booking_args;
