-- What the upgrade changed on an adopted database, one row per change (revision, action, the
-- object or row, old and new value): normalised spellings, repeated legacy booking codes made
-- unique, recounted total_bookings, converted column types, dropped legacy triggers, policies
-- and privileges removed (old_value holds the statement that recreates them; the downgrade
-- replays it). Written by the adoption's revisions only; the DBA reads it (README: adopting).
CREATE TABLE hubspot_sync.adoption_report (
    id bigserial PRIMARY KEY,
    revision text NOT NULL,
    action text NOT NULL,
    object text NOT NULL,
    record_id text,
    old_value text,
    new_value text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- indexes
-- what the adoption did to one row (`mockbook trace`): one entry per row it changed or flagged
CREATE INDEX idx_adoption_report_record ON hubspot_sync.adoption_report (record_id)
    WHERE record_id IS NOT NULL;

-- security
ALTER TABLE hubspot_sync.adoption_report ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.adoption_report
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.adoption_report FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.adoption_report TO service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.adoption_report_id_seq FROM PUBLIC, anon, authenticated, service_role;
