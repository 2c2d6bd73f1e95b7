-- Undo db/functions/mark_audit_notes.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.mark_audit_notes;
