-- Undo db/triggers/touch_updated_at.sql (new).
DROP TRIGGER IF EXISTS touch_updated_at ON hubspot_sync.hubspot_bookings;
DROP TRIGGER IF EXISTS touch_updated_at ON hubspot_sync.hubspot_mock_exams;
DROP TRIGGER IF EXISTS touch_updated_at ON hubspot_sync.hubspot_contact_credits;
DROP FUNCTION IF EXISTS mockbook_internal.touch_updated_at;
