-- Undo db/views/sync_health.sql (new).
DROP VIEW IF EXISTS hubspot_sync.sync_health;
