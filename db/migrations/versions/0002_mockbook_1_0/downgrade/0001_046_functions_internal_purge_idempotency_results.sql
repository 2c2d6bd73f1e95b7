-- Undo db/functions/internal/purge_idempotency_results.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.purge_idempotency_results;
