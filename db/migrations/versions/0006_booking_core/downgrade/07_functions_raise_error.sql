-- Undo db/functions/raise_error.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.raise_error;
