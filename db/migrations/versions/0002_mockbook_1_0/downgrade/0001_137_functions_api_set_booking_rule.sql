-- Undo db/functions/api/set_booking_rule.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.set_booking_rule;
