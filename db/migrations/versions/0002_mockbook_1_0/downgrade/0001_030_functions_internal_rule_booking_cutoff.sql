-- Undo db/functions/internal/rule_booking_cutoff.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.rule_booking_cutoff;
