-- Undo db/functions/requeue_for_push.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.requeue_for_push;
