-- Hand-written: the CHECK constraints of the three synced tables, one a table in place of five,
-- three and two (db/schema/10_hubspot_contact_credits.sql, 11_hubspot_mock_exams.sql,
-- 12_hubspot_bookings.sql): the same rules. PostgreSQL reads every CHECK of a table again for
-- each statement that writes a row of it, and a booking writes all three tables. Each is added
-- and checked against the rows in the revision's transaction, under the lock its lock step took
-- (one read of each table); dropped first if there, so the step can run again.
ALTER TABLE hubspot_sync.hubspot_contact_credits
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_sj_credits_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_cs_credits_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_sjmini_credits_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_mock_discussion_token_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_shared_mock_credits_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_contact_credits_credits_check,
    ADD CONSTRAINT hubspot_contact_credits_credits_check
        CHECK (least(sj_credits, cs_credits, sjmini_credits, mock_discussion_token,
                     shared_mock_credits) >= 0);
ALTER TABLE hubspot_sync.hubspot_mock_exams
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_mock_exams_capacity_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_mock_exams_total_bookings_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_mock_exams_is_active_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_mock_exams_values_check,
    ADD CONSTRAINT hubspot_mock_exams_values_check
        CHECK (least(capacity, total_bookings) >= 0
               AND lower(is_active) = ANY ('{true,false,scheduled,active}'::text[]));
ALTER TABLE hubspot_sync.hubspot_bookings
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_bookings_is_active_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_bookings_attendance_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS hubspot_bookings_values_check,
    ADD CONSTRAINT hubspot_bookings_values_check
        CHECK (is_active = ANY ('{Active,Cancelled,Completed,Failed}'::text[])
               AND attendance = ANY ('{Yes,No}'::text[]));
