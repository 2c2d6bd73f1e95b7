-- Frozen: drop what 0002_mockbook_1_0 added. Data is kept (idempotency_fingerprint is dropped;
-- the repeated legacy booking codes the upgrade made unique get their production code back).
SET lock_timeout = '5s';
DROP INDEX IF EXISTS hubspot_sync.idx_bookings_exam_status;
DROP INDEX IF EXISTS hubspot_sync.uq_bookings_one_per_student_type_day;
DROP INDEX IF EXISTS hubspot_sync.hubspot_bookings_booking_id_key;
-- production's own UNIQUE (student_id) constraint stays; repeated legacy codes come back
UPDATE hubspot_sync.hubspot_bookings SET booking_id = legacy_booking_id
WHERE legacy_booking_id IS NOT NULL;
ALTER TABLE hubspot_sync.hubspot_bookings
    DROP CONSTRAINT IF EXISTS hubspot_bookings_is_active_check,
    DROP CONSTRAINT IF EXISTS hubspot_bookings_attendance_check,
    DROP COLUMN IF EXISTS idempotency_fingerprint;
ALTER TABLE hubspot_sync.hubspot_mock_exams
    DROP CONSTRAINT IF EXISTS hubspot_mock_exams_capacity_check,
    DROP CONSTRAINT IF EXISTS hubspot_mock_exams_total_bookings_check,
    DROP CONSTRAINT IF EXISTS hubspot_mock_exams_is_active_check;
ALTER TABLE hubspot_sync.hubspot_contact_credits
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_sj_credits_check,
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_cs_credits_check,
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_sjmini_credits_check,
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_mock_discussion_token_check,
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_shared_mock_credits_check;
