-- Who changed what: written by triggers on the three tables (bookkeeping-only updates of
-- synced_at, hubspot_last_sync_at and updated_at are not audited). Pushed to HubSpot as notes.
CREATE TABLE hubspot_sync.supabase_audit_log (
    id bigserial PRIMARY KEY,
    table_name text NOT NULL,
    record_id uuid NOT NULL,
    record_hubspot_id text,
    operation text NOT NULL,
    changed_fields jsonb,
    old_values jsonb,
    new_values jsonb,
    performed_by text,
    performed_at timestamptz DEFAULT now(),
    synced_to_hubspot_at timestamptz,
    -- a pending row waiting for a HubSpot id (its booking's, its contact's): set as the row is
    -- written (record_row_change) or by claim_audit_notes, cleared when that id arrives
    -- (audit_notes_ready): the claim passes over it
    note_waits boolean NOT NULL DEFAULT false
);

-- indexes
CREATE INDEX idx_audit_log_table_record ON hubspot_sync.supabase_audit_log (table_name, record_id);
-- the pending rows, ready ones apart (note_waits = false, by id): the notes claim reads only those
CREATE INDEX idx_audit_log_pending_sync
    ON hubspot_sync.supabase_audit_log (note_waits, id) WHERE synced_to_hubspot_at IS NULL;

-- security
ALTER TABLE hubspot_sync.supabase_audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.supabase_audit_log
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.supabase_audit_log FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.supabase_audit_log TO service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.supabase_audit_log_id_seq FROM PUBLIC, anon, authenticated, service_role;
