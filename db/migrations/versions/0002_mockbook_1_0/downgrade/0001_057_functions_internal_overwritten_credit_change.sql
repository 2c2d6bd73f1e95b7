-- Undo db/functions/internal/overwritten_credit_change.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.overwritten_credit_change;
