-- Cursors and last-run bookkeeping of the glue (one row per sync_type, e.g. 'pull:exams'). id,
-- the unique sync_type and the timestamps are production's; last_sync_timestamp is a
-- timestamptz (the adoption converts production's epoch milliseconds) and the status columns
-- are mockbook's.
CREATE TABLE hubspot_sync.sync_metadata (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sync_type text NOT NULL CONSTRAINT sync_metadata_sync_type_key UNIQUE,
    last_sync_timestamp timestamptz,
    last_sync_status text,
    records_synced integer DEFAULT 0,
    error_message text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(),
    cursor jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_sync_metadata_type ON hubspot_sync.sync_metadata (sync_type);

-- security
ALTER TABLE hubspot_sync.sync_metadata ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.sync_metadata
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.sync_metadata FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.sync_metadata TO service_role, mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.sync_metadata
    FOR SELECT TO mockbook_glue USING (true);
