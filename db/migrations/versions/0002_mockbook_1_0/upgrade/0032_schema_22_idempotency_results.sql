-- Frozen copy of db/schema/22_idempotency_results.sql (new).
-- The keyed-result store of the write RPCs: one row per idempotency key a
-- write other than a booking was made with — the function, the fingerprint of its arguments
-- (hubspot_sync.booking_fingerprint: the function name, then every argument, then the actor)
-- and the jsonb result it returned. A call repeated with the same key and arguments gets
-- `result` back unchanged and changes nothing; with other arguments, or a key another function
-- (or a booking: hubspot_bookings.idempotency_key) used, IDEMPOTENCY_KEY_REUSED. Written by
-- hubspot_sync.store_idempotent_result in the call's own transaction, so a call that failed
-- stored nothing; read by hubspot_sync.claim_idempotent_call under the key's advisory lock.
-- Rows older than the retention (MOCKBOOK_IDEMPOTENCY_RETENTION_HOURS, default 24) are deleted
-- by `mockbook run`'s purge step (hubspot_sync.purge_idempotency_results). Booking keys stay
-- on their bookings and are never purged.
CREATE TABLE hubspot_sync.idempotency_results (
    idempotency_key text PRIMARY KEY,
    function_name text NOT NULL,
    fingerprint text NOT NULL,
    result jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_results_key_check CHECK (length(idempotency_key) BETWEEN 1 AND 255)
);

-- indexes
CREATE INDEX idx_idempotency_results_created ON hubspot_sync.idempotency_results (created_at);

-- security
ALTER TABLE hubspot_sync.idempotency_results ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.idempotency_results
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.idempotency_results FROM PUBLIC, anon, authenticated;
GRANT SELECT, INSERT ON TABLE hubspot_sync.idempotency_results TO service_role;
