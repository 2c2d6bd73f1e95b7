-- Undo db/functions/internal/credit_rule_set.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.credit_rule_set;
