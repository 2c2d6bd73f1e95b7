-- Undo db/functions/internal/check_idempotency_key_arg.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.check_idempotency_key_arg;
