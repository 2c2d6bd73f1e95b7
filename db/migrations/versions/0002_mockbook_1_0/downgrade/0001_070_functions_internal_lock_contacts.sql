-- Undo db/functions/internal/lock_contacts.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.lock_contacts;
