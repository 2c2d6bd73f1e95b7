-- Undo db/functions/internal/declared_booking_rules.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.declared_booking_rules;
