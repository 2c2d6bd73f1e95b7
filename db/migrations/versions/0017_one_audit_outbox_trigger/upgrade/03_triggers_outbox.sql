-- Frozen copy of db/triggers/outbox.sql (deleted).
DROP TRIGGER IF EXISTS queue_sync_change ON hubspot_sync.hubspot_bookings;
DROP TRIGGER IF EXISTS queue_sync_change ON hubspot_sync.hubspot_mock_exams;
DROP TRIGGER IF EXISTS queue_sync_change ON hubspot_sync.hubspot_contact_credits;
-- a trigger function: its only callers, the triggers, are dropped just above
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.queue_sync_change;
