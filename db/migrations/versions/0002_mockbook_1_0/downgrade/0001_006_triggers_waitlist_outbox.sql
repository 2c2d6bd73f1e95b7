-- Undo db/triggers/waitlist_outbox.sql (new).
DROP TRIGGER IF EXISTS queue_waitlist_change ON hubspot_sync.waitlist_entries;
DROP FUNCTION IF EXISTS mockbook_internal.queue_waitlist_change;
