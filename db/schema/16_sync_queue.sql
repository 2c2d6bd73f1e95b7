-- The outbox: one row per relevant change of the three synced tables and of the waitlist places, written by triggers, drained
-- by the glue (claim with FOR UPDATE SKIP LOCKED and a lease; done rows purged after the
-- retention period; dead rows kept until retried or discarded).
-- The column rules as domains, not table CHECKs: each change of a synced row writes an outbox
-- row, and a table CHECK is read from the catalog's text and planned again by every statement
-- that writes the table, a domain's once per session (docs/performance.md, "Where a
-- booking's time goes"). The constraint names are the rules' names.
CREATE DOMAIN hubspot_sync.outbox_table_name AS text
    CONSTRAINT sync_queue_table_name_check CHECK (VALUE IN (
        'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings',
        'waitlist_entries'));
CREATE DOMAIN hubspot_sync.outbox_operation AS text
    CONSTRAINT sync_queue_operation_check CHECK (VALUE IN ('INSERT', 'UPDATE', 'DELETE'));
CREATE DOMAIN hubspot_sync.outbox_attempts AS integer
    CONSTRAINT sync_queue_attempts_check CHECK (VALUE >= 0);

CREATE TABLE hubspot_sync.sync_queue (
    id bigserial PRIMARY KEY,
    table_name hubspot_sync.outbox_table_name NOT NULL,
    record_id uuid NOT NULL,
    operation hubspot_sync.outbox_operation NOT NULL,
    old_data jsonb,
    new_data jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts hubspot_sync.outbox_attempts NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    lease_owner text,
    lease_expires_at timestamptz,
    done_at timestamptz,
    dead_at timestamptz
);

-- indexes
-- the pending rows in the order each can next be claimed (its next attempt, or its lease's
-- end): claim_sync_batch reads the due ones from either end, never a leased one
CREATE INDEX idx_sync_queue_due ON hubspot_sync.sync_queue
    ((greatest(next_attempt_at, coalesce(lease_expires_at, next_attempt_at))), id)
    WHERE done_at IS NULL AND dead_at IS NULL;
-- a record's rows by state: its pending ones (done_at IS NULL: the claim's and the pull's
-- lookups), those under a live lease among them (the claim's test, done_at IS NULL AND
-- lease_expires_at >= now()) and its done ones (`mockbook trace`), each one range of one
-- index, so a new row writes one entry for all three
CREATE INDEX idx_sync_queue_by_record
    ON hubspot_sync.sync_queue (table_name, record_id, done_at, lease_expires_at);
CREATE INDEX idx_sync_queue_done ON hubspot_sync.sync_queue (done_at) WHERE done_at IS NOT NULL;

-- security
ALTER TABLE hubspot_sync.sync_queue ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.sync_queue
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.sync_queue FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.sync_queue TO service_role, mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.sync_queue
    FOR SELECT TO mockbook_glue USING (true);
REVOKE ALL ON SEQUENCE hubspot_sync.sync_queue_id_seq FROM PUBLIC, anon, authenticated, service_role;
-- the worker reads the outbox's high-water mark (pg_sequence_last_value) to wake up
GRANT SELECT ON SEQUENCE hubspot_sync.sync_queue_id_seq TO mockbook_glue;
