-- Hand-written: the indexes the claims read, each a lookup of the rows a claim takes
-- (db/schema/15_credit_ledger.sql, 16_sync_queue.sql, 19_webhook_events.sql; the change of
-- 14_supabase_audit_log.sql is its comment). Built in the revision's transaction, under the locks
-- its lock step took; an index built beforehand (a DBA's CREATE INDEX
-- CONCURRENTLY of the same statement, to keep the window short on a large table) is kept.
-- the ledger rows of one change of a contact, in place of the index by time alone
CREATE INDEX IF NOT EXISTS idx_credit_ledger_contact_created
    ON hubspot_sync.credit_ledger (contact_id, created_at);
DROP INDEX IF EXISTS hubspot_sync.idx_credit_ledger_created_at;
-- a contact's rows by field: the index above finds a contact's rows (a booking writes one entry
-- fewer)
DROP INDEX IF EXISTS hubspot_sync.idx_credit_ledger_contact;
-- the outbox's pending rows in the order each can next be claimed, in place of the order of
-- their next attempt alone; and a record's rows by state (pending, leased, done) in one index
CREATE INDEX IF NOT EXISTS idx_sync_queue_due ON hubspot_sync.sync_queue
    ((greatest(next_attempt_at, coalesce(lease_expires_at, next_attempt_at))), id)
    WHERE done_at IS NULL AND dead_at IS NULL;
DROP INDEX IF EXISTS hubspot_sync.idx_sync_queue_pending;
CREATE INDEX IF NOT EXISTS idx_sync_queue_by_record
    ON hubspot_sync.sync_queue (table_name, record_id, done_at, lease_expires_at);
DROP INDEX IF EXISTS hubspot_sync.idx_sync_queue_record;
-- the unprocessed webhook events in the order they fall due
CREATE INDEX IF NOT EXISTS idx_webhook_events_due
    ON hubspot_sync.webhook_events ((coalesce(leased_until, received_at)), id)
    WHERE processed_at IS NULL;
DROP INDEX IF EXISTS hubspot_sync.idx_webhook_events_pending;
