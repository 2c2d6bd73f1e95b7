-- Undo db/functions/internal/screen_pulled_contact.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.screen_pulled_contact;
