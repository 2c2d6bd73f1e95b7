-- Undo db/functions/find_contact.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.find_contact;
