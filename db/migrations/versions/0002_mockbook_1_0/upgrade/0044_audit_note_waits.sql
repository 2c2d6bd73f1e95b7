-- Hand-written: the audit rows waiting for a HubSpot id are set aside (note_waits), and the
-- pending index keeps them apart from the ready ones, so the notes claim reads only those.
ALTER TABLE hubspot_sync.supabase_audit_log
    ADD COLUMN IF NOT EXISTS note_waits boolean NOT NULL DEFAULT false;
DROP INDEX IF EXISTS hubspot_sync.idx_audit_log_pending_sync;
CREATE INDEX idx_audit_log_pending_sync
    ON hubspot_sync.supabase_audit_log (note_waits, id) WHERE synced_to_hubspot_at IS NULL;
