-- Undo db/triggers/outbox.sql (new).
DROP TRIGGER IF EXISTS queue_sync_change ON hubspot_sync.hubspot_bookings;
DROP TRIGGER IF EXISTS queue_sync_change ON hubspot_sync.hubspot_mock_exams;
DROP TRIGGER IF EXISTS queue_sync_change ON hubspot_sync.hubspot_contact_credits;
DROP FUNCTION IF EXISTS hubspot_sync.queue_sync_change;
