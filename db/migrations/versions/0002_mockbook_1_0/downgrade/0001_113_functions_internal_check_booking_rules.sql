-- Undo db/functions/internal/check_booking_rules.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.check_booking_rules;
