-- Undo db/functions/internal/pull_record_failed.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pull_record_failed;
