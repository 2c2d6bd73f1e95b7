-- Undo db/functions/internal/pulled_contact_id.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pulled_contact_id;
