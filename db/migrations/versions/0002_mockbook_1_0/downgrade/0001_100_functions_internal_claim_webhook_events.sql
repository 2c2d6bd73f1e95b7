-- Undo db/functions/internal/claim_webhook_events.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.claim_webhook_events;
