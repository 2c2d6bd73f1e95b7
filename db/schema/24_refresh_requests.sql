-- Requests to read one record from HubSpot now (hubspot_sync.request_refresh: an admin's
-- Refresh, a dashboard opening), taken by the worker's refresh lane, which applies the record
-- as the pull does and writes the outcome; each request's outcome is broadcast to live pages.
-- A request waits while outcome is NULL; finished ones are purged after 7 days.
CREATE TABLE IF NOT EXISTS hubspot_sync.refresh_requests (
    id bigserial PRIMARY KEY,
    record_type text NOT NULL,
    -- the exam's HubSpot id, the student's student_id, the booking's uuid
    record_key text NOT NULL,
    -- the HubSpot id read (NULL: the record is not in HubSpot yet)
    hubspot_id text,
    -- who asked (request_actor: the JWT's user, else the request's role)
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    leased_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    outcome text,
    detail text,
    finished_at timestamptz,
    CONSTRAINT refresh_requests_record_type_check
        CHECK (record_type IN ('exam', 'student', 'booking')),
    CONSTRAINT refresh_requests_outcome_check
        CHECK (outcome IN ('applied', 'gone', 'not_in_hubspot', 'rejected', 'busy',
                           'hubspot_unavailable', 'rate_limited', 'failed'))
);

-- indexes
-- the requests waiting, in the order they fall due (the worker's claim)
CREATE INDEX IF NOT EXISTS idx_refresh_requests_waiting ON hubspot_sync.refresh_requests
    (coalesce(leased_until, requested_at), id) WHERE outcome IS NULL;
-- a caller's recent requests (the limit per caller)
CREATE INDEX IF NOT EXISTS idx_refresh_requests_caller ON hubspot_sync.refresh_requests
    (requested_by, requested_at);
-- one waiting request per record
CREATE UNIQUE INDEX IF NOT EXISTS idx_refresh_requests_waiting_record ON hubspot_sync.refresh_requests
    (record_type, record_key) WHERE outcome IS NULL;
-- a record's requests (mockbook trace)
CREATE INDEX IF NOT EXISTS idx_refresh_requests_record ON hubspot_sync.refresh_requests
    (record_type, record_key, id);
-- the finished ones, oldest first (the purge)
CREATE INDEX IF NOT EXISTS idx_refresh_requests_finished ON hubspot_sync.refresh_requests (finished_at)
    WHERE outcome IS NOT NULL;

-- security
ALTER TABLE hubspot_sync.refresh_requests ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS service_role_all ON hubspot_sync.refresh_requests;
CREATE POLICY service_role_all ON hubspot_sync.refresh_requests
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.refresh_requests FROM PUBLIC, anon, authenticated, service_role;
-- the glue reads requests only through claim_refresh_requests (SECURITY DEFINER)
GRANT SELECT ON TABLE hubspot_sync.refresh_requests TO service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.refresh_requests_id_seq
    FROM PUBLIC, anon, authenticated, service_role;
-- the refresh lane wakes when this sequence moves (pg_sequence_last_value, no lock)
GRANT SELECT ON SEQUENCE hubspot_sync.refresh_requests_id_seq TO mockbook_glue;
