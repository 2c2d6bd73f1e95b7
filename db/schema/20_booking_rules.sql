-- Scheduling rules: one row per rule, read by the booking functions through
-- mockbook_internal.booking_rule(rule) and changed by admins with hubspot_sync.set_booking_rule.
-- Every rule is off by default, so an installation opts in rule by rule; docs/rpc.md
-- "Scheduling rules" lists them.
CREATE TABLE hubspot_sync.booking_rules (
    rule text PRIMARY KEY,
    value jsonb NOT NULL,
    description text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text,
    CONSTRAINT booking_rules_rule_check CHECK (rule IN (
        'time_conflict', 'booking_cutoff', 'min_notice_hours', 'cancel_deadline_hours',
        'cancel_deadline_action', 'max_active_per_type', 'max_active_per_week',
        'offer_hold_minutes', 'waitlist_size', 'allow_booking_after_start',
        'exam_closed_policy'))
);

INSERT INTO hubspot_sync.booking_rules (rule, value, description) VALUES
    ('time_conflict', 'false',
     'true: a student cannot hold two Active bookings whose sessions overlap (TIME_CONFLICT).'),
    ('booking_cutoff', 'false',
     'true: no booking once the exam has started, business time zone (BOOKING_CLOSED).'),
    ('exam_closed_policy', '"refund"',
     'An exam cancelled or deactivated in HubSpot: refund (its Active bookings are cancelled and their credits restored) or keep (they stay Active for an admin).'),
    ('allow_booking_after_start', 'false',
     'true: students may book an exam that has started (by default such an exam is EXAM_IN_PAST); booking_cutoff and min_notice_hours still apply.'),
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
REVOKE ALL ON TABLE hubspot_sync.booking_rules FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.booking_rules TO service_role;

-- Every change of a rule, as set_booking_rule made it: the old and new value, who (the JWT's
-- user through mockbook_internal.request_actor, else p_actor for a server job) and when.
CREATE TABLE hubspot_sync.booking_rule_changes (
    id bigserial PRIMARY KEY,
    rule text NOT NULL,
    old_value jsonb,
    new_value jsonb NOT NULL,
    changed_by text,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- security
ALTER TABLE hubspot_sync.booking_rule_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.booking_rule_changes
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.booking_rule_changes FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.booking_rule_changes TO service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.booking_rule_changes_id_seq FROM PUBLIC, anon, authenticated, service_role;

-- Bookings an exam's change in HubSpot left for an admin (the per-day rule, a time conflict, an
-- exam moved into the past, a capacity cut below its Active bookings), listed for admins by
-- mockbook status until resolved (resolved_at set by an admin).
CREATE TABLE hubspot_sync.booking_conflicts (
    id bigserial PRIMARY KEY,
    booking_id uuid NOT NULL,
    mock_exam_id text NOT NULL,
    rule text NOT NULL,
    detail text NOT NULL,
    detected_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    CONSTRAINT booking_conflicts_rule_check CHECK (rule IN ('one_per_type_and_day', 'time_conflict',
                                                           'moved_into_past', 'capacity_cut'))
);

-- security
ALTER TABLE hubspot_sync.booking_conflicts ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.booking_conflicts
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.booking_conflicts FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.booking_conflicts TO service_role, mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.booking_conflicts
    FOR SELECT TO mockbook_glue USING (true);
REVOKE ALL ON SEQUENCE hubspot_sync.booking_conflicts_id_seq FROM PUBLIC, anon, authenticated, service_role;
