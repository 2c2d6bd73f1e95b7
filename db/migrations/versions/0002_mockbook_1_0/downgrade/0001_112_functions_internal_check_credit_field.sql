-- Undo db/functions/internal/check_credit_field.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.check_credit_field;
