-- Undo db/functions/resolve_dead_letters.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.resolve_dead_letters;
