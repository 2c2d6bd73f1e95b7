-- Hand-written: validates the CHECK constraints upgrade/0000_schema_checks.sql added NOT VALID
-- (SHARE UPDATE EXCLUSIVE: reads and writes go on).
ALTER TABLE hubspot_sync.hubspot_contact_credits VALIDATE CONSTRAINT hubspot_contact_credits_credits_check;
ALTER TABLE hubspot_sync.hubspot_mock_exams VALIDATE CONSTRAINT hubspot_mock_exams_values_check;
ALTER TABLE hubspot_sync.hubspot_bookings VALIDATE CONSTRAINT hubspot_bookings_values_check;
