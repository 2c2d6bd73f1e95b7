-- Undo db/functions/internal/booking_fingerprint.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.booking_fingerprint;
