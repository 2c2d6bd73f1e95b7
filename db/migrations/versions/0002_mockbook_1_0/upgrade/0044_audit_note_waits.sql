-- Hand-written (db/schema/14_supabase_audit_log.sql): the audit rows waiting for a HubSpot id are set aside (note_waits), and the
-- pending index keeps them apart from the ready ones, so the notes claim reads only those.
-- supabase_audit_log is created by this revision (01_dual_id.sql) and only the triggers on the
-- three synced tables write it, whose locks the upgrade's one transaction already holds: the
-- plain index drop and build block no write that could otherwise go on.
ALTER TABLE hubspot_sync.supabase_audit_log
    ADD COLUMN IF NOT EXISTS note_waits boolean NOT NULL DEFAULT false;
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX IF EXISTS hubspot_sync.idx_audit_log_pending_sync;
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX idx_audit_log_pending_sync
    ON hubspot_sync.supabase_audit_log (note_waits, id) WHERE synced_to_hubspot_at IS NULL;
