-- Undo db/functions/internal/caller_sees.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.caller_sees;
