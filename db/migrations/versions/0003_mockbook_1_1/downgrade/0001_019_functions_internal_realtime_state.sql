-- Undo db/functions/internal/realtime_state.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.realtime_state;
