-- Undo db/functions/api/accept_offer.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.accept_offer;
