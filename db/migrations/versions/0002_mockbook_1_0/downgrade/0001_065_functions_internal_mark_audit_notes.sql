-- Undo db/functions/internal/mark_audit_notes.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.mark_audit_notes;
