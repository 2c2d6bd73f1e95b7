-- Undo db/functions/internal/credit_field_of_token.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.credit_field_of_token;
