-- Hand-written: back to the pending index on id alone, without note_waits.
DROP INDEX hubspot_sync.idx_audit_log_pending_sync;
CREATE INDEX idx_audit_log_pending_sync
    ON hubspot_sync.supabase_audit_log (id) WHERE synced_to_hubspot_at IS NULL;
ALTER TABLE hubspot_sync.supabase_audit_log DROP COLUMN note_waits;
