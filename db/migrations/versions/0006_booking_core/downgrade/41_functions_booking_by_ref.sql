-- Undo db/functions/booking_by_ref.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.booking_by_ref;
