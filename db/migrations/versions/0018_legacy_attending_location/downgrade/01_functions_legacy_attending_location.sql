-- Undo db/functions/legacy_attending_location.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.legacy_attending_location;
