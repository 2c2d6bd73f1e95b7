-- Frozen copy of db/functions/internal/claim_refresh_requests.sql (new).
-- Why: several workers may run; each request is read by one of them, and one whose worker died
-- comes back after its lease.
CREATE OR REPLACE FUNCTION mockbook_internal.claim_refresh_requests(p_worker text,
                                                               p_limit integer DEFAULT 100,
                                                               p_lease_seconds integer DEFAULT 60)
RETURNS TABLE (id bigint, record_type text, record_key text, hubspot_id text)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    IF p_worker IS NULL OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000
       OR p_lease_seconds IS NULL OR p_lease_seconds NOT BETWEEN 1 AND 3600 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'claim_refresh_requests needs a worker, p_limit 1..1000 and p_lease_seconds 1..3600.');
    END IF;
    -- a request whose worker stopped three times while reading it is not tried again
    UPDATE hubspot_sync.refresh_requests AS r
    SET outcome = 'failed', finished_at = now(), lease_owner = NULL, leased_until = NULL,
        detail = 'The worker stopped three times while reading it.'
    WHERE r.outcome IS NULL AND r.attempts >= 3 AND r.leased_until <= now();
    RETURN QUERY
    UPDATE hubspot_sync.refresh_requests AS r
    SET lease_owner = p_worker, leased_until = now() + make_interval(secs => p_lease_seconds),
        attempts = r.attempts + 1
    WHERE r.id IN (
        SELECT w.id FROM hubspot_sync.refresh_requests AS w
        WHERE w.outcome IS NULL AND coalesce(w.leased_until, w.requested_at) <= now()
        ORDER BY coalesce(w.leased_until, w.requested_at), w.id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED)
    RETURNING r.id, r.record_type, r.record_key, r.hubspot_id;
END
$$;

COMMENT ON FUNCTION mockbook_internal.claim_refresh_requests(text, integer, integer) IS
'Glue (refresh lane): leases up to p_limit waiting refresh requests (SKIP LOCKED) for
p_lease_seconds, oldest first; one leased three times in vain is failed. Errors:
INVALID_ARGUMENT. Locks: those refresh_requests rows.';
REVOKE ALL ON FUNCTION mockbook_internal.claim_refresh_requests(text, integer, integer)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.claim_refresh_requests(text, integer, integer)
    TO mockbook_glue;
