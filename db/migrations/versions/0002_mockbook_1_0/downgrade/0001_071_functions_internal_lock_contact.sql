-- Undo db/functions/internal/lock_contact.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.lock_contact;
