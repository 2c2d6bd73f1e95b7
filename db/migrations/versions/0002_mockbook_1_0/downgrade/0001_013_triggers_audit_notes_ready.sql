-- Undo db/triggers/audit_notes_ready.sql (new).
DROP TRIGGER IF EXISTS audit_notes_ready_gone ON hubspot_sync.hubspot_contact_credits;
DROP TRIGGER IF EXISTS audit_notes_ready ON hubspot_sync.hubspot_contact_credits;
DROP TRIGGER IF EXISTS audit_notes_ready_gone ON hubspot_sync.hubspot_bookings;
DROP TRIGGER IF EXISTS audit_notes_ready ON hubspot_sync.hubspot_bookings;
DROP FUNCTION IF EXISTS mockbook_internal.audit_notes_ready;
