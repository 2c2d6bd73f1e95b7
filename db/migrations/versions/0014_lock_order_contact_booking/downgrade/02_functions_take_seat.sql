-- Undo db/functions/take_seat.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.take_seat;
