-- Undo db/functions/internal/take_glue_lease.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.take_glue_lease;
