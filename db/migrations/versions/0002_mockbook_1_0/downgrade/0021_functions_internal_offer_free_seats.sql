-- Undo db/functions/internal/offer_free_seats.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.offer_free_seats;
DROP FUNCTION IF EXISTS hubspot_sync.offer_free_seats;
