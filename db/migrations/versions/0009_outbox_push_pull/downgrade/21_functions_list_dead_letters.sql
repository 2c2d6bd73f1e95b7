-- Undo db/functions/list_dead_letters.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.list_dead_letters;
