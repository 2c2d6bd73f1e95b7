-- Undo db/functions/internal/booking_fingerprint.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.booking_fingerprint;
DROP FUNCTION IF EXISTS hubspot_sync.booking_fingerprint;
