-- Undo db/functions/booking_fingerprint.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.booking_fingerprint;
