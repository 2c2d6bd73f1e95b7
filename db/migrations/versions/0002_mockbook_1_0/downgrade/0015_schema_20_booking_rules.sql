-- Undo db/schema/20_booking_rules.sql (new).
DROP TABLE IF EXISTS hubspot_sync.booking_rules;
