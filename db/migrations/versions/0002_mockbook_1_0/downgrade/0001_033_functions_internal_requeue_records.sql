-- Undo db/functions/internal/requeue_records.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.requeue_records;
