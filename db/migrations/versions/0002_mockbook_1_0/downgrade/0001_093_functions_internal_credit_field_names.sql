-- Undo db/functions/internal/credit_field_names.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.credit_field_names;
