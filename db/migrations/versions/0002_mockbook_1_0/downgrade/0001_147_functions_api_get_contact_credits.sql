-- Undo db/functions/api/get_contact_credits.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.get_contact_credits;
