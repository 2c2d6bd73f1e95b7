-- Undo db/functions/local_change_pending.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.local_change_pending;
