-- Undo db/functions/credit_field_of_token.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.credit_field_of_token;
