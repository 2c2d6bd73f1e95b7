-- Undo db/functions/credit_fields.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.credit_fields;
