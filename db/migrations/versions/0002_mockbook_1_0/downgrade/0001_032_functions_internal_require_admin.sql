-- Undo db/functions/internal/require_admin.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.require_admin;
