-- Undo db/functions/internal/credit_fields.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.credit_fields;
