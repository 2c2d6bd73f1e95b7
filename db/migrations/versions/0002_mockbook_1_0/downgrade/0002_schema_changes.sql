-- db/schema/02_mockbook_internal.sql, 12_hubspot_bookings.sql, 13_sync_metadata.sql,
-- 19_production_not_owned.sql, 20_adoption_report.sql, 20_booking_rules.sql and
-- 22_idempotency_results.sql changed in their -- comments only: no ALTER.

-- Hand-written: the reverse of upgrade/0044_schema_changes.sql's dropped CHECK.
ALTER TABLE hubspot_sync.booking_rules ADD CONSTRAINT booking_rules_rule_check CHECK (rule IN (
        'time_conflict', 'booking_cutoff', 'min_notice_hours', 'cancel_deadline_hours',
        'cancel_deadline_action', 'max_active_per_type', 'max_active_per_week',
        'offer_hold_minutes', 'waitlist_size', 'allow_booking_after_start',
        'exam_closed_policy'));
