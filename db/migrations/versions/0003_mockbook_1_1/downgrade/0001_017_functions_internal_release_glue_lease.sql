-- Undo db/functions/internal/release_glue_lease.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.release_glue_lease;
