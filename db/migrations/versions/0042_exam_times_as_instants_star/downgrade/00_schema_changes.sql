-- Hand-written: the reverse of upgrade/00_schema_changes.sql.
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
