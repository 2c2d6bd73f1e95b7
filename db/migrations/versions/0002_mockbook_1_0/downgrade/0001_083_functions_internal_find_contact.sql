-- Undo db/functions/internal/find_contact.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.find_contact;
