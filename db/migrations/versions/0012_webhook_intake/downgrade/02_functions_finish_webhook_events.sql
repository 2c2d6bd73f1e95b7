-- Undo db/functions/finish_webhook_events.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.finish_webhook_events;
