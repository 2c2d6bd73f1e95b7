-- Undo db/triggers/require_booking_code.sql (new).
DROP TRIGGER IF EXISTS require_booking_code ON hubspot_sync.hubspot_bookings;
DROP FUNCTION IF EXISTS mockbook_internal.require_booking_code;
