-- Undo db/functions/lock_contact.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.lock_contact;
