-- Undo db/functions/pull_recheck_ids.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.pull_recheck_ids;
