-- Undo db/functions/internal/send_message.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.send_message;
