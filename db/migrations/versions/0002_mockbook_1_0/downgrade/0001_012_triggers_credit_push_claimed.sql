-- Undo db/triggers/credit_push_claimed.sql (new).
DROP TRIGGER IF EXISTS credit_push_claimed ON hubspot_sync.sync_queue;
DROP FUNCTION IF EXISTS mockbook_internal.credit_push_claimed;
