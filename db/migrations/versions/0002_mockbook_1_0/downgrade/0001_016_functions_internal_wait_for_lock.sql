-- Undo db/functions/internal/wait_for_lock.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.wait_for_lock;
