-- Hand-written: the CHECK constraints back to 1.0's, one a rule (upgrade/0000_schema_checks.sql
-- undone); each dropped first if there, so the step can run again.
ALTER TABLE hubspot_sync.hubspot_contact_credits
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_credits_check,
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_sj_credits_check,
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_cs_credits_check,
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_sjmini_credits_check,
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_mock_discussion_token_check,
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_shared_mock_credits_check,
    ADD CONSTRAINT hubspot_contact_credits_sj_credits_check CHECK (sj_credits >= 0),
    ADD CONSTRAINT hubspot_contact_credits_cs_credits_check CHECK (cs_credits >= 0),
    ADD CONSTRAINT hubspot_contact_credits_sjmini_credits_check CHECK (sjmini_credits >= 0),
    ADD CONSTRAINT hubspot_contact_credits_mock_discussion_token_check
        CHECK (mock_discussion_token >= 0),
    ADD CONSTRAINT hubspot_contact_credits_shared_mock_credits_check
        CHECK (shared_mock_credits >= 0);
ALTER TABLE hubspot_sync.hubspot_mock_exams
    DROP CONSTRAINT IF EXISTS hubspot_mock_exams_values_check,
    DROP CONSTRAINT IF EXISTS hubspot_mock_exams_capacity_check,
    DROP CONSTRAINT IF EXISTS hubspot_mock_exams_total_bookings_check,
    DROP CONSTRAINT IF EXISTS hubspot_mock_exams_is_active_check,
    ADD CONSTRAINT hubspot_mock_exams_capacity_check CHECK (capacity >= 0),
    ADD CONSTRAINT hubspot_mock_exams_total_bookings_check CHECK (total_bookings >= 0),
    ADD CONSTRAINT hubspot_mock_exams_is_active_check
        CHECK (lower(is_active) IN ('true', 'false', 'scheduled', 'active'));
ALTER TABLE hubspot_sync.hubspot_bookings
    DROP CONSTRAINT IF EXISTS hubspot_bookings_values_check,
    DROP CONSTRAINT IF EXISTS hubspot_bookings_is_active_check,
    DROP CONSTRAINT IF EXISTS hubspot_bookings_attendance_check,
    ADD CONSTRAINT hubspot_bookings_is_active_check
        CHECK (is_active IN ('Active', 'Cancelled', 'Completed', 'Failed')),
    ADD CONSTRAINT hubspot_bookings_attendance_check CHECK (attendance IN ('Yes', 'No'));
