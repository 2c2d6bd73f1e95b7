-- Undo db/functions/internal/apply_credit_delta.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.apply_credit_delta;
