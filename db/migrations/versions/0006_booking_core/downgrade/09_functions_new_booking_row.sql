-- Undo db/functions/new_booking_row.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.new_booking_row;
