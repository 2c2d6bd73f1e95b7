-- Frozen: dual-id. Contacts and bookings can exist before HubSpot knows them (hubspot_id nullable);
-- exams stay HubSpot-first. Adds hubspot_last_sync_at and the audit log table.
SET lock_timeout = '5s';

ALTER TABLE hubspot_sync.hubspot_contact_credits ALTER COLUMN hubspot_id DROP NOT NULL;
ALTER TABLE hubspot_sync.hubspot_bookings ALTER COLUMN hubspot_id DROP NOT NULL;

ALTER TABLE hubspot_sync.hubspot_contact_credits ADD COLUMN IF NOT EXISTS hubspot_last_sync_at timestamptz;
ALTER TABLE hubspot_sync.hubspot_mock_exams ADD COLUMN IF NOT EXISTS hubspot_last_sync_at timestamptz;
ALTER TABLE hubspot_sync.hubspot_bookings ADD COLUMN IF NOT EXISTS hubspot_last_sync_at timestamptz;

CREATE TABLE IF NOT EXISTS hubspot_sync.supabase_audit_log (
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
    synced_to_hubspot_at timestamptz
);
CREATE INDEX IF NOT EXISTS idx_audit_log_table_record
    ON hubspot_sync.supabase_audit_log (table_name, record_id);
CREATE INDEX IF NOT EXISTS idx_audit_log_pending_sync
    ON hubspot_sync.supabase_audit_log (id) WHERE synced_to_hubspot_at IS NULL;
