-- Undo db/functions/booking_json.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.booking_json;
