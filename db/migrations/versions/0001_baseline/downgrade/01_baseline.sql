-- Frozen: removes the baseline read-cache schema (only on a database mockbook created).
SET lock_timeout = '5s';
DROP TABLE hubspot_sync.hubspot_bookings;
DROP TABLE hubspot_sync.hubspot_mock_exams;
DROP TABLE hubspot_sync.hubspot_contact_credits;
DROP TABLE hubspot_sync.sync_metadata;
DROP TYPE hubspot_sync.mock_set_letter;
