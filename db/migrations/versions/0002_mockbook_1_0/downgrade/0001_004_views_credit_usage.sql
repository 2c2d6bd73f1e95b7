-- Undo db/views/credit_usage.sql (new).
DROP MATERIALIZED VIEW IF EXISTS hubspot_sync.credit_usage;
