-- Frozen: new columns and CHECK constraints, added NOT VALID (brief lock), validated after.
SET lock_timeout = '5s';
ALTER TABLE hubspot_sync.hubspot_bookings ADD COLUMN IF NOT EXISTS idempotency_fingerprint text;

ALTER TABLE hubspot_sync.hubspot_contact_credits
    ADD CONSTRAINT hubspot_contact_credits_sj_credits_check CHECK (sj_credits >= 0) NOT VALID,
    ADD CONSTRAINT hubspot_contact_credits_cs_credits_check CHECK (cs_credits >= 0) NOT VALID,
    ADD CONSTRAINT hubspot_contact_credits_sjmini_credits_check CHECK (sjmini_credits >= 0) NOT VALID,
    ADD CONSTRAINT hubspot_contact_credits_mock_discussion_token_check
        CHECK (mock_discussion_token >= 0) NOT VALID,
    ADD CONSTRAINT hubspot_contact_credits_shared_mock_credits_check
        CHECK (shared_mock_credits >= 0) NOT VALID;

ALTER TABLE hubspot_sync.hubspot_mock_exams
    ADD CONSTRAINT hubspot_mock_exams_capacity_check CHECK (capacity >= 0) NOT VALID,
    ADD CONSTRAINT hubspot_mock_exams_total_bookings_check CHECK (total_bookings >= 0) NOT VALID,
    ADD CONSTRAINT hubspot_mock_exams_is_active_check
        CHECK (lower(is_active) IN ('true', 'false', 'scheduled', 'active')) NOT VALID;

ALTER TABLE hubspot_sync.hubspot_bookings
    ADD CONSTRAINT hubspot_bookings_is_active_check
        CHECK (is_active IN ('Active', 'Cancelled', 'Completed', 'Failed')) NOT VALID,
    ADD CONSTRAINT hubspot_bookings_attendance_check CHECK (attendance IN ('Yes', 'No')) NOT VALID;
