-- Undo db/functions/offer_free_seats.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.offer_free_seats;
