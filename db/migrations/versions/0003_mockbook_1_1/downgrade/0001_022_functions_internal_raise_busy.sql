-- Undo db/functions/internal/raise_busy.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.raise_busy;
