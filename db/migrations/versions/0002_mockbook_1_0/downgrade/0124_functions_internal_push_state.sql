-- Undo db/functions/internal/push_state.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.push_state;
DROP FUNCTION IF EXISTS hubspot_sync.push_state;
