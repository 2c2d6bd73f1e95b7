-- Undo db/functions/internal/sync_queue_next_due.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.sync_queue_next_due;
