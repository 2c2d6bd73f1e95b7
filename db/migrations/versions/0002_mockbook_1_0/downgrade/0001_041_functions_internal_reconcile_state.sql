-- Undo db/functions/internal/reconcile_state.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.reconcile_state;
