-- Frozen copy of db/schema/23_exam_hubspot_sync.sql (new).
-- The HubSpot modification time (hs_lastmodifieddate) of the newest read of each exam that
-- apply_pulled_exams applied: HubSpot owns the exam's fields (docs/hubspot.md), and a read older than
-- this one is a state HubSpot has already left (webhook deliveries come in no guaranteed order;
-- a read held through the BUSY retries, a second processor, the pull's page applied beside
-- them), so it is not applied. A side table, not a column of hubspot_mock_exams: production's
-- table stays as the DBAs know it, and its hubspot_last_sync_at is the time of the last sync
-- (now()), written by the push too, not HubSpot's time. One row per exam applied from a read that
-- carried hs_lastmodifieddate; written only under the exam's row lock (lock_exam, or the
-- insert of the exam), so it ranks with the exam in the lock order (docs/rpc.md).
CREATE TABLE hubspot_sync.exam_hubspot_sync (
    exam_id uuid PRIMARY KEY
        REFERENCES hubspot_sync.hubspot_mock_exams (id) ON DELETE CASCADE,
    hubspot_modified_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- security
ALTER TABLE hubspot_sync.exam_hubspot_sync ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.exam_hubspot_sync
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.exam_hubspot_sync FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.exam_hubspot_sync TO service_role;
