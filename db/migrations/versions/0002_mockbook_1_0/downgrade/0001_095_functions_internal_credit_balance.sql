-- Undo db/functions/internal/credit_balance.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.credit_balance;
