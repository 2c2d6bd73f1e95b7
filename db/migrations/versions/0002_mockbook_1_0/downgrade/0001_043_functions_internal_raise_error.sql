-- Undo db/functions/internal/raise_error.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.raise_error;
