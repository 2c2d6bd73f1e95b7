-- Frozen copy of db/schema/20_booking_rules.sql (new).
-- Scheduling rules: one row per rule, read by the booking functions through
-- hubspot_sync.booking_rule(rule) and changed by admins with hubspot_sync.set_booking_rule.
-- The defaults keep the booking core's behaviour of before the rules (every rule off), so an
-- installation opts in rule by rule; docs/rpc.md "Scheduling rules" lists them.
CREATE TABLE hubspot_sync.booking_rules (
    rule text PRIMARY KEY,
    value jsonb NOT NULL,
    description text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text,
    CONSTRAINT booking_rules_rule_check CHECK (rule IN (
        'time_conflict', 'booking_cutoff', 'min_notice_hours', 'cancel_deadline_hours',
        'cancel_deadline_action', 'max_active_per_type', 'max_active_per_week',
        'offer_hold_minutes', 'waitlist_size'))
);

INSERT INTO hubspot_sync.booking_rules (rule, value, description) VALUES
    ('time_conflict', 'false',
     'true: a student cannot hold two Active bookings whose sessions overlap (TIME_CONFLICT).'),
    ('booking_cutoff', 'false',
     'true: no booking once the exam has started, business time zone (BOOKING_CLOSED).'),
    ('min_notice_hours', '0',
     'Hours before the start after which booking closes (BOOKING_CLOSED); 0: none.'),
    ('cancel_deadline_hours', '0',
     'A student cancelling less than this many hours before the start: see cancel_deadline_action; 0: none.'),
    ('cancel_deadline_action', '"refuse"',
     'refuse (CANCELLATION_CLOSED) or no_refund (cancelled, credit kept); admins are not bound.'),
    ('max_active_per_type', 'null',
     'At most this many Active bookings per student and mock type (BOOKING_LIMIT_REACHED); null: no limit.'),
    ('max_active_per_week', 'null',
     'At most this many Active bookings per student and ISO week of the exam day (BOOKING_LIMIT_REACHED); null: no limit.'),
    ('offer_hold_minutes', '60',
     'How long a waitlist offer holds its seat before it passes to the next student.'),
    ('waitlist_size', 'null',
     'At most this many waiting students per exam (WAITLIST_FULL); null: no limit.');

-- security
ALTER TABLE hubspot_sync.booking_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.booking_rules
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.booking_rules FROM PUBLIC, anon, authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE hubspot_sync.booking_rules TO service_role;
