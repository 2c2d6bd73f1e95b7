-- Undo db/functions/internal/pulled_keep_unknown.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pulled_keep_unknown;
