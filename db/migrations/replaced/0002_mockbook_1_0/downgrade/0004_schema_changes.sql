-- Runs in place of versions/0002_mockbook_1_0/downgrade/0004_schema_changes.sql (db/migrations/
-- replaced.py), which it equals but for its first statements: that file built the one-booking-a-
-- day index again without its legacy_issue condition, for 0020_constraints.sql to drop it a few
-- steps later (production's schema has no such index), and so refused the old app's duplicate
-- bookings production held. Here the index is dropped at once; nothing between reads it.
-- Hand-written: the reverse of upgrade/00_schema_changes.sql (and of 96_duplicate_rule.nontx.sql).
DROP INDEX hubspot_sync.uq_bookings_one_per_student_type_day;
ALTER TABLE hubspot_sync.hubspot_bookings DROP COLUMN legacy_issue;
ALTER TABLE hubspot_sync.waitlist_entries DROP COLUMN closed_reason;
ALTER TABLE hubspot_sync.credit_ledger DROP CONSTRAINT credit_ledger_reason_check;
-- a ledger row of reason exam_cancelled is kept (money is never deleted): the old constraint is
-- added NOT VALID and validated only when there is none, so such rows stay while new rows obey it
ALTER TABLE hubspot_sync.credit_ledger ADD CONSTRAINT credit_ledger_reason_check CHECK (reason IN (
        'booking', 'cancellation', 'rebook', 'admin_adjustment', 'hubspot_adjustment', 'import')) NOT VALID;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM hubspot_sync.credit_ledger WHERE reason = 'exam_cancelled') THEN
        ALTER TABLE hubspot_sync.credit_ledger VALIDATE CONSTRAINT credit_ledger_reason_check;
    END IF;
END $$;
DROP TABLE hubspot_sync.booking_conflicts;
DELETE FROM hubspot_sync.booking_rules WHERE rule = 'exam_closed_policy';
DROP TABLE hubspot_sync.booking_rule_changes;
DELETE FROM hubspot_sync.booking_rules WHERE rule = 'allow_booking_after_start';
ALTER TABLE hubspot_sync.booking_rules DROP CONSTRAINT booking_rules_rule_check;
ALTER TABLE hubspot_sync.booking_rules ADD CONSTRAINT booking_rules_rule_check CHECK (rule IN (
        'time_conflict', 'booking_cutoff', 'min_notice_hours', 'cancel_deadline_hours',
        'cancel_deadline_action', 'max_active_per_type', 'max_active_per_week',
        'offer_hold_minutes', 'waitlist_size')) NOT VALID;
ALTER TABLE hubspot_sync.booking_rules VALIDATE CONSTRAINT booking_rules_rule_check;
ALTER TABLE hubspot_sync.hubspot_mock_exams
    DROP COLUMN exam_starts_at,
    DROP COLUMN exam_ends_at,
    DROP COLUMN time_problem;
