-- HubSpot webhook deliveries: every event of a signed delivery is stored here before
-- the intake answers 2xx, then applied by the glue through the pull's functions. One row per
-- event; a redelivery of the same event (HubSpot retries a delivery it got no 2xx for) is the
-- same (event_id, subscription_id, object_id) and is dropped by the unique constraint.
CREATE TABLE hubspot_sync.webhook_events (
    id bigserial PRIMARY KEY,
    event_id bigint NOT NULL,
    subscription_id bigint NOT NULL DEFAULT 0,
    subscription_type text NOT NULL,
    object_type_id text NOT NULL,
    object_id text NOT NULL,
    occurred_at timestamptz NOT NULL,
    payload jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    leased_until timestamptz,
    processed_at timestamptz,
    last_error text,
    CONSTRAINT webhook_events_event_key UNIQUE (event_id, subscription_id, object_id),
    CONSTRAINT webhook_events_attempts_check CHECK (attempts >= 0)
);

-- indexes
-- the unprocessed events in the order they fall due (received, or their lease or backoff over):
-- the claim reads the due ones in this order and never the leased or backing-off ones
CREATE INDEX idx_webhook_events_due
    ON hubspot_sync.webhook_events ((coalesce(leased_until, received_at)), id)
    WHERE processed_at IS NULL;
CREATE INDEX idx_webhook_events_processed ON hubspot_sync.webhook_events (processed_at)
    WHERE processed_at IS NOT NULL;
-- the deliveries about one HubSpot record (`mockbook trace`)
CREATE INDEX idx_webhook_events_object ON hubspot_sync.webhook_events (object_id);

-- security
ALTER TABLE hubspot_sync.webhook_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.webhook_events
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.webhook_events FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE hubspot_sync.webhook_events TO service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.webhook_events_id_seq FROM PUBLIC, anon, authenticated, service_role;
