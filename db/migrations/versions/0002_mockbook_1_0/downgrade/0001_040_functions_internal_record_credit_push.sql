-- Undo db/functions/internal/record_credit_push.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.record_credit_push;
