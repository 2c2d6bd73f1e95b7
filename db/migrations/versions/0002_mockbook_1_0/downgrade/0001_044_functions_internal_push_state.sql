-- Undo db/functions/internal/push_state.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.push_state;
