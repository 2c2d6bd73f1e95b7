-- Undo db/functions/reconcile_state.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.reconcile_state;
