-- Undo db/functions/pulled_text.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.pulled_text;
