-- Undo db/functions/booking_rule.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.booking_rule;
