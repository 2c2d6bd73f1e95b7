-- Undo db/triggers/row_change.sql (new).
DROP TRIGGER IF EXISTS record_row_change ON hubspot_sync.hubspot_bookings;
DROP TRIGGER IF EXISTS record_row_change ON hubspot_sync.hubspot_mock_exams;
DROP TRIGGER IF EXISTS record_row_change ON hubspot_sync.hubspot_contact_credits;
DROP FUNCTION IF EXISTS mockbook_internal.record_row_change;
