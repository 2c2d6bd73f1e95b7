-- Undo db/functions/release_seat.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.release_seat;
