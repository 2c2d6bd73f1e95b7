-- Undo db/functions/internal/local_change_pending.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.local_change_pending;
