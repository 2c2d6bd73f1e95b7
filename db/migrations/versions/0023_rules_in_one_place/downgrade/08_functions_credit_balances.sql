-- Undo db/functions/credit_balances.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.credit_balances;
