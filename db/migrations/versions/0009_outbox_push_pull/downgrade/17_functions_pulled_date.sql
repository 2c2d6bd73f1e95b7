-- Undo db/functions/pulled_date.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.pulled_date;
