-- Undo db/functions/internal/pulled_created_at.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pulled_created_at;
