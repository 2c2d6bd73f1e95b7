-- Undo db/functions/check_text_arg.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.check_text_arg;
