-- Undo db/functions/internal/insert_pulled_contact.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.insert_pulled_contact;
