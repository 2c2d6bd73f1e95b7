-- Undo db/functions/internal/credit_field_of_token.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.credit_field_of_token;
DROP FUNCTION IF EXISTS hubspot_sync.credit_field_of_token;
