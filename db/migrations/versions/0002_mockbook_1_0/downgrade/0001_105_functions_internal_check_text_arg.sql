-- Undo db/functions/internal/check_text_arg.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.check_text_arg;
