-- Undo db/functions/internal/offer_free_seats.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.offer_free_seats;
