-- Undo db/functions/internal/oldest_unsent_audit_seconds.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.oldest_unsent_audit_seconds;
