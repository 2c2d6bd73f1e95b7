-- Undo db/functions/internal/finish_webhook_events.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.finish_webhook_events;
