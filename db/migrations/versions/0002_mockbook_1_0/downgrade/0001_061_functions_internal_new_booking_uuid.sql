-- Undo db/functions/internal/new_booking_uuid.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.new_booking_uuid;
