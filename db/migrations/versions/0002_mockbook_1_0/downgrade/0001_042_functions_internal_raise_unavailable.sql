-- Undo db/functions/internal/raise_unavailable.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.raise_unavailable;
