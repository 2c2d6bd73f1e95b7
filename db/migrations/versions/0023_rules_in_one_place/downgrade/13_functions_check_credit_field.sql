-- Undo db/functions/check_credit_field.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.check_credit_field;
