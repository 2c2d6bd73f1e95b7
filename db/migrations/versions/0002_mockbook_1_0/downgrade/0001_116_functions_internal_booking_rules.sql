-- Undo db/functions/internal/booking_rules.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.booking_rules;
