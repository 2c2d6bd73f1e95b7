-- Undo db/schema/18_contact_credit_sync.sql (new).
DROP TABLE IF EXISTS hubspot_sync.contact_credit_sync;
