-- Undo db/functions/apply_pulled_prerequisites.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.apply_pulled_prerequisites;
