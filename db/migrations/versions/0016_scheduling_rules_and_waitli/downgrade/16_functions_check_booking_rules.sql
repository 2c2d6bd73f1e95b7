-- Undo db/functions/check_booking_rules.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.check_booking_rules;
