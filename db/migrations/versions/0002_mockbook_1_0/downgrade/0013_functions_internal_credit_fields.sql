-- Undo db/functions/internal/credit_fields.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.credit_fields;
DROP FUNCTION IF EXISTS hubspot_sync.credit_fields;
