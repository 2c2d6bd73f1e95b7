-- Undo db/functions/accept_offer.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.accept_offer;
