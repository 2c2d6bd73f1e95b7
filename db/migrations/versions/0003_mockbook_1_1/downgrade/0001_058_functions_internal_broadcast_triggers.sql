-- Undo db/functions/internal/broadcast_triggers.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.broadcast_triggers;
