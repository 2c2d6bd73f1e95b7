-- Undo db/functions/internal/credit_field_names.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.credit_field_names;
DROP FUNCTION IF EXISTS hubspot_sync.credit_field_names;
