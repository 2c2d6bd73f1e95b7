-- Hand-written: db/schema/11_hubspot_mock_exams.sql (the instants an exam's rules read, kept by
-- the trigger derive_exam_instants; filled for the existing rows by 99_exam_instants.sql once the
-- functions exist) and db/schema/20_booking_rules.sql (the rule allow_booking_after_start, the
-- history of rule changes, the rule exam_closed_policy, booking_conflicts),
-- db/schema/15_credit_ledger.sql (ledger reason exam_cancelled) and
-- db/schema/21_waitlist_entries.sql (closed_reason).
ALTER TABLE hubspot_sync.hubspot_mock_exams
    ADD COLUMN IF NOT EXISTS exam_starts_at timestamptz,
    ADD COLUMN IF NOT EXISTS exam_ends_at timestamptz,
    ADD COLUMN IF NOT EXISTS time_problem text;

-- a CHECK replaced by a wider one (one more allowed value), added NOT VALID, validated outside
-- this transaction (98_validate.nontx.sql)
-- squawk-ignore ban-drop-constraint
ALTER TABLE hubspot_sync.booking_rules DROP CONSTRAINT booking_rules_rule_check;
ALTER TABLE hubspot_sync.booking_rules ADD CONSTRAINT booking_rules_rule_check CHECK (rule IN (
        'time_conflict', 'booking_cutoff', 'min_notice_hours', 'cancel_deadline_hours',
        'cancel_deadline_action', 'max_active_per_type', 'max_active_per_week',
        'offer_hold_minutes', 'waitlist_size', 'allow_booking_after_start',
        'exam_closed_policy')) NOT VALID;
INSERT INTO hubspot_sync.booking_rules (rule, value, description) VALUES
    ('exam_closed_policy', '"refund"',
     'An exam cancelled or deactivated in HubSpot: refund (its Active bookings are cancelled and their credits restored) or keep (they stay Active for an admin).'),
    ('allow_booking_after_start', 'false',
     'true: students may book an exam that has started (by default such an exam is EXAM_IN_PAST); booking_cutoff and min_notice_hours still apply.')
ON CONFLICT (rule) DO NOTHING;

CREATE TABLE hubspot_sync.booking_rule_changes (
    id bigserial PRIMARY KEY,
    rule text NOT NULL,
    old_value jsonb,
    new_value jsonb NOT NULL,
    changed_by text,
    changed_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE hubspot_sync.booking_rule_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.booking_rule_changes
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.booking_rule_changes FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.booking_rule_changes TO service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.booking_rule_changes_id_seq FROM PUBLIC, anon, authenticated, service_role;

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
ALTER TABLE hubspot_sync.booking_conflicts ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.booking_conflicts
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.booking_conflicts FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.booking_conflicts TO service_role, mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.booking_conflicts
    FOR SELECT TO mockbook_glue USING (true);
REVOKE ALL ON SEQUENCE hubspot_sync.booking_conflicts_id_seq FROM PUBLIC, anon, authenticated, service_role;

-- a CHECK replaced by a wider one (one more allowed value), added NOT VALID, validated outside
-- this transaction (98_validate.nontx.sql)
-- squawk-ignore ban-drop-constraint
ALTER TABLE hubspot_sync.credit_ledger DROP CONSTRAINT credit_ledger_reason_check;
ALTER TABLE hubspot_sync.credit_ledger ADD CONSTRAINT credit_ledger_reason_check CHECK (reason IN (
        'booking', 'cancellation', 'rebook', 'admin_adjustment', 'hubspot_adjustment', 'import',
        'exam_cancelled')) NOT VALID;

ALTER TABLE hubspot_sync.waitlist_entries ADD COLUMN IF NOT EXISTS closed_reason text;

-- db/schema/12_hubspot_bookings.sql: legacy_issue (the adoption's flag; the one-per-day index
-- is rebuilt without the flagged rows in 96_duplicate_rule.nontx.sql)
ALTER TABLE hubspot_sync.hubspot_bookings ADD COLUMN IF NOT EXISTS legacy_issue text;
