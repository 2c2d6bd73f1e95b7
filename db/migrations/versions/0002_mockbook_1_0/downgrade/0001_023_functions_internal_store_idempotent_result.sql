-- Undo db/functions/internal/store_idempotent_result.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.store_idempotent_result;
