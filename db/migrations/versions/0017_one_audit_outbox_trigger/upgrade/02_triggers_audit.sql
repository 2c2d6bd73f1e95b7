-- Frozen copy of db/triggers/audit.sql (deleted).
DROP TRIGGER IF EXISTS audit_row_change ON hubspot_sync.hubspot_bookings;
DROP TRIGGER IF EXISTS audit_row_change ON hubspot_sync.hubspot_mock_exams;
DROP TRIGGER IF EXISTS audit_row_change ON hubspot_sync.hubspot_contact_credits;
-- a trigger function: its only callers, the triggers, are dropped just above
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.audit_row_change;
