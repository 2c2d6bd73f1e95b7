-- Undo db/functions/credit_field_names.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.credit_field_names;
