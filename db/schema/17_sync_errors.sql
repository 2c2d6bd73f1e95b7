-- Dead letters: failures the glue gave up on, per entity and direction, until resolved.
CREATE TABLE hubspot_sync.sync_errors (
    id bigserial PRIMARY KEY,
    queue_id bigint,
    entity_type text NOT NULL,
    entity_id text,
    direction text NOT NULL,
    operation text,
    error text NOT NULL,
    payload jsonb,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at timestamptz NOT NULL DEFAULT now(),
    resolved boolean NOT NULL DEFAULT false,
    resolved_at timestamptz,
    resolved_by text,
    resolution text,
    CONSTRAINT sync_errors_direction_check CHECK (direction IN ('push', 'pull')),
    CONSTRAINT sync_errors_resolution_check CHECK (resolution IN ('retried', 'discarded'))
);

-- indexes
CREATE INDEX idx_sync_errors_open ON hubspot_sync.sync_errors (created_at) WHERE NOT resolved;
CREATE INDEX idx_sync_errors_queue ON hubspot_sync.sync_errors (queue_id);
-- a record's letters, resolved ones included (`mockbook trace`; the pull's open letter of a record)
CREATE INDEX idx_sync_errors_entity ON hubspot_sync.sync_errors (entity_type, entity_id);

-- security
ALTER TABLE hubspot_sync.sync_errors ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.sync_errors
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.sync_errors FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.sync_errors TO service_role, mockbook_glue;
CREATE POLICY mockbook_glue_read ON hubspot_sync.sync_errors
    FOR SELECT TO mockbook_glue USING (true);
REVOKE ALL ON SEQUENCE hubspot_sync.sync_errors_id_seq FROM PUBLIC, anon, authenticated, service_role;
