-- Undo db/functions/request_actor.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.request_actor;
