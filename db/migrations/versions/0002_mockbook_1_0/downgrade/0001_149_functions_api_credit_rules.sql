-- Undo db/functions/api/credit_rules.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.credit_rules;
