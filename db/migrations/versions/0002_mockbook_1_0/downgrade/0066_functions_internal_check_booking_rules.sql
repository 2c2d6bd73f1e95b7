-- Undo db/functions/internal/check_booking_rules.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.check_booking_rules;
DROP FUNCTION IF EXISTS hubspot_sync.check_booking_rules;
