-- Undo db/functions/internal/pulled_text.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pulled_text;
