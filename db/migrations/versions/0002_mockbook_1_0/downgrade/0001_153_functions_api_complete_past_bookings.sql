-- Undo db/functions/api/complete_past_bookings.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.complete_past_bookings;
