-- Undo db/functions/internal/same_email.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.same_email;
