-- Undo db/functions/claim_webhook_events.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.claim_webhook_events;
