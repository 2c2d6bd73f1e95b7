-- Undo db/functions/validate_booking_args.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.validate_booking_args;
