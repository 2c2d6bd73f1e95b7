-- Undo db/functions/internal/check_credit_field.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.check_credit_field;
DROP FUNCTION IF EXISTS hubspot_sync.check_credit_field;
