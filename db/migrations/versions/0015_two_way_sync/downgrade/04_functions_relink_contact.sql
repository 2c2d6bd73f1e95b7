-- Undo db/functions/relink_contact.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.relink_contact;
