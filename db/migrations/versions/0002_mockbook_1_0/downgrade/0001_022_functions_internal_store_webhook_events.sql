-- Undo db/functions/internal/store_webhook_events.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.store_webhook_events;
