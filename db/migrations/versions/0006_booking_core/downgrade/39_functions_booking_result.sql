-- Undo db/functions/booking_result.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.booking_result;
