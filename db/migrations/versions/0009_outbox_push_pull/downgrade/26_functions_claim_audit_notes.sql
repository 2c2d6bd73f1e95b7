-- Undo db/functions/claim_audit_notes.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.claim_audit_notes;
