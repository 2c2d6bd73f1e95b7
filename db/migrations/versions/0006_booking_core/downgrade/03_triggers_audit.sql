-- Undo db/triggers/audit.sql (new).
DROP TRIGGER IF EXISTS audit_row_change ON hubspot_sync.hubspot_bookings;
DROP TRIGGER IF EXISTS audit_row_change ON hubspot_sync.hubspot_mock_exams;
DROP TRIGGER IF EXISTS audit_row_change ON hubspot_sync.hubspot_contact_credits;
DROP FUNCTION IF EXISTS hubspot_sync.audit_row_change;
