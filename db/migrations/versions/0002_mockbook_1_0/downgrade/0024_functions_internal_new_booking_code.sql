-- Undo db/functions/internal/new_booking_code.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.new_booking_code;
DROP FUNCTION IF EXISTS hubspot_sync.new_booking_code;
