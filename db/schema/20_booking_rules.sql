-- Scheduling rules: the value in force of each rule mockbook_internal.declared_booking_rules
-- declares (which inserts its row, at its default), read by the booking functions through
-- mockbook_internal.booking_rules and changed by admins with hubspot_sync.set_booking_rule.
-- Every rule is off by default, so an installation opts in rule by rule.
CREATE TABLE hubspot_sync.booking_rules (
    rule text PRIMARY KEY,
    value jsonb NOT NULL,
    description text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text
);

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

-- indexes
-- a booking's conflicts and an exam's (`mockbook trace`, an exam's change resolving its own)
CREATE INDEX idx_booking_conflicts_booking ON hubspot_sync.booking_conflicts (booking_id);
CREATE INDEX idx_booking_conflicts_exam ON hubspot_sync.booking_conflicts (mock_exam_id);

-- security
ALTER TABLE hubspot_sync.booking_conflicts ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.booking_conflicts
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.booking_conflicts FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.booking_conflicts TO service_role, mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.booking_conflicts
    FOR SELECT TO mockbook_glue USING (true);
REVOKE ALL ON SEQUENCE hubspot_sync.booking_conflicts_id_seq FROM PUBLIC, anon, authenticated, service_role;
