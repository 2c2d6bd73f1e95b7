-- Hand-written: back to 1.0's indexes of the ledger, the outbox and the webhook events
-- (db/schema/15_credit_ledger.sql, 16_sync_queue.sql, 19_webhook_events.sql;
-- 14_supabase_audit_log.sql: a comment only), in the revision's transaction.
CREATE INDEX IF NOT EXISTS idx_credit_ledger_created_at
    ON hubspot_sync.credit_ledger (created_at);
CREATE INDEX IF NOT EXISTS idx_credit_ledger_contact
    ON hubspot_sync.credit_ledger (contact_id, credit_field);
DROP INDEX IF EXISTS hubspot_sync.idx_credit_ledger_contact_created;
CREATE INDEX IF NOT EXISTS idx_sync_queue_record
    ON hubspot_sync.sync_queue (table_name, record_id) WHERE done_at IS NULL;
DROP INDEX IF EXISTS hubspot_sync.idx_sync_queue_by_record;
CREATE INDEX IF NOT EXISTS idx_sync_queue_pending
    ON hubspot_sync.sync_queue (next_attempt_at, id) WHERE done_at IS NULL AND dead_at IS NULL;
DROP INDEX IF EXISTS hubspot_sync.idx_sync_queue_due;
CREATE INDEX IF NOT EXISTS idx_webhook_events_pending
    ON hubspot_sync.webhook_events (id) WHERE processed_at IS NULL;
DROP INDEX IF EXISTS hubspot_sync.idx_webhook_events_due;
