-- Undo db/triggers/credit_push_done.sql (new).
DROP TRIGGER IF EXISTS credit_push_done ON hubspot_sync.hubspot_contact_credits;
DROP FUNCTION IF EXISTS mockbook_internal.credit_push_done;
