-- Undo db/functions/internal/list_dead_letters.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.list_dead_letters;
