-- Undo db/functions/push_state.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.push_state;
