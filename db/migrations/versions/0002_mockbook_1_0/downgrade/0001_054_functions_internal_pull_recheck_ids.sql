-- Undo db/functions/internal/pull_recheck_ids.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pull_recheck_ids;
