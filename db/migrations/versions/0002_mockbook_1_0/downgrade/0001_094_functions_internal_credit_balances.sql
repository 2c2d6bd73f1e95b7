-- Undo db/functions/internal/credit_balances.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.credit_balances;
