-- Undo db/schema/19_webhook_events.sql (new).
DROP TABLE IF EXISTS hubspot_sync.webhook_events;
