-- Undo db/functions/internal/requeue_for_push.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.requeue_for_push;
