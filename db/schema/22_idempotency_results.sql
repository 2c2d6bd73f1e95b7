-- The keyed-result store of the write RPCs other than bookings: per key, the function, the
-- fingerprint of its arguments (mockbook_internal.booking_fingerprint) and the result it
-- returned, so a retry with the same key and arguments gets that result back and changes
-- nothing (other arguments, or a key used elsewhere: IDEMPOTENCY_KEY_REUSED). Written in the
-- call's own transaction (a failed call stored nothing), read under the key's advisory lock.
-- Rows older than MOCKBOOK_IDEMPOTENCY_RETENTION_HOURS (default 24) are purged by `mockbook run`;
-- booking keys stay on their bookings and are never purged.
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
REVOKE ALL ON TABLE hubspot_sync.idempotency_results FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.idempotency_results TO service_role;
