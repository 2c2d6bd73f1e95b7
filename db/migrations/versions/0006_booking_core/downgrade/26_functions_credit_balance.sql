-- Undo db/functions/credit_balance.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.credit_balance;
