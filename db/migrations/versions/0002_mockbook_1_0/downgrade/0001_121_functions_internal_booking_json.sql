-- Undo db/functions/internal/booking_json.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.booking_json;
