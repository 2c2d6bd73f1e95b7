-- Undo db/functions/api/rebook.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.rebook;
