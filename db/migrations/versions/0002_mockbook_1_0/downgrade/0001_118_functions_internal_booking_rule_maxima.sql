-- Undo db/functions/internal/booking_rule_maxima.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.booking_rule_maxima;
