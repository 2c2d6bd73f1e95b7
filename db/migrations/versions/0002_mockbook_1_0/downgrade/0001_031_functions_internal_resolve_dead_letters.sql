-- Undo db/functions/internal/resolve_dead_letters.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.resolve_dead_letters;
