-- Undo db/functions/apply_pulled_contacts.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.apply_pulled_contacts;
