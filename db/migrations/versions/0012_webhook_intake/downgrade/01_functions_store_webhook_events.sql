-- Undo db/functions/store_webhook_events.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.store_webhook_events;
