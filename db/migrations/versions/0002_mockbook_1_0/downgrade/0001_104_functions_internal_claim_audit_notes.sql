-- Undo db/functions/internal/claim_audit_notes.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.claim_audit_notes;
