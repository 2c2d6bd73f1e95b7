-- Frozen copy of db/functions/internal/finish_refresh_requests.sql (new).
-- Why: a request's outcome is written once, by the worker that leased it, and broadcast (the
-- trigger broadcast_refresh_outcome); requests older than a week go.
CREATE OR REPLACE FUNCTION mockbook_internal.finish_refresh_requests(p_worker text,
                                                                p_results jsonb)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_done integer;
BEGIN
    IF jsonb_typeof(p_results) IS DISTINCT FROM 'array' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_results must be an array of {id, outcome, detail}.');
    END IF;
    UPDATE hubspot_sync.refresh_requests AS r
    SET outcome = x.outcome, detail = left(x.detail, 1000), finished_at = now(),
        lease_owner = NULL, leased_until = NULL
    FROM jsonb_to_recordset(p_results) AS x(id bigint, outcome text, detail text)
    WHERE r.id = x.id AND r.outcome IS NULL AND r.lease_owner = p_worker;
    GET DIAGNOSTICS v_done = ROW_COUNT;
    DELETE FROM hubspot_sync.refresh_requests AS r
    WHERE r.id IN (SELECT o.id FROM hubspot_sync.refresh_requests AS o
                   WHERE o.outcome IS NOT NULL AND o.finished_at < now() - interval '7 days'
                   ORDER BY o.finished_at LIMIT 1000);
    RETURN v_done;
END
$$;

COMMENT ON FUNCTION mockbook_internal.finish_refresh_requests(text, jsonb) IS
'Glue (refresh lane): writes the outcomes [{id, outcome, detail}] of the requests p_worker leased
(others are left), then purges finished requests older than 7 days. Returns the requests
finished. Errors: INVALID_ARGUMENT. Locks: those refresh_requests rows.';
REVOKE ALL ON FUNCTION mockbook_internal.finish_refresh_requests(text, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.finish_refresh_requests(text, jsonb) TO mockbook_glue;
