-- Undo db/functions/rebook.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.rebook;
