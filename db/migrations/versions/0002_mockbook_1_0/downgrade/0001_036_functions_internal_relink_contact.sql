-- Undo db/functions/internal/relink_contact.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.relink_contact;
