-- Frozen copy of db/functions/internal/store_webhook_events.sql (new).
-- Why: a HubSpot delivery is stored before the intake answers 2xx, so a crash after the answer
-- loses nothing, and a redelivered event is stored once.
CREATE OR REPLACE FUNCTION mockbook_internal.store_webhook_events(p_events jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_event jsonb;
    v_type text;
    v_count integer;
    v_stored integer := 0;
BEGIN
    IF jsonb_typeof(p_events) IS DISTINCT FROM 'array'
       OR jsonb_array_length(p_events) NOT BETWEEN 1 AND 100 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_events must be a JSON array of 1 to 100 webhook events.');
    END IF;
    FOR v_event IN SELECT e.value FROM jsonb_array_elements(p_events) AS e LOOP
        IF jsonb_typeof(v_event) IS DISTINCT FROM 'object'
           OR jsonb_typeof(v_event -> 'eventId') IS DISTINCT FROM 'number'
           OR coalesce(v_event ->> 'objectId', '') = ''
           OR coalesce(v_event ->> 'subscriptionType', '') = ''
           OR jsonb_typeof(v_event -> 'occurredAt') IS DISTINCT FROM 'number' THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                format('a webhook event needs a numeric eventId and occurredAt, an objectId and '
                       'a subscriptionType: %s', left(v_event::text, 200)));
        END IF;
        IF jsonb_typeof(v_event -> 'subscriptionId') NOT IN ('number', 'null')
           OR length(v_event ->> 'subscriptionType') > 100
           OR length(v_event ->> 'objectId') > 100 THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                format('a malformed webhook event: %s', left(v_event::text, 200)));
        END IF;
    END LOOP;

    FOR v_event IN SELECT e.value FROM jsonb_array_elements(p_events) AS e LOOP
        v_type := coalesce(nullif(v_event ->> 'objectTypeId', ''),
                           CASE split_part(v_event ->> 'subscriptionType', '.', 1)
                               WHEN 'contact' THEN '0-1'
                               WHEN 'company' THEN '0-2'
                               WHEN 'deal' THEN '0-3'
                               WHEN 'ticket' THEN '0-5'
                               ELSE split_part(v_event ->> 'subscriptionType', '.', 1)
                           END);
        INSERT INTO hubspot_sync.webhook_events (
            event_id, subscription_id, subscription_type, object_type_id, object_id,
            occurred_at, payload)
        VALUES ((v_event ->> 'eventId')::bigint,
                coalesce((v_event ->> 'subscriptionId')::bigint, 0),
                v_event ->> 'subscriptionType', v_type, v_event ->> 'objectId',
                to_timestamp((v_event ->> 'occurredAt')::numeric / 1000), v_event)
        ON CONFLICT ON CONSTRAINT webhook_events_event_key DO NOTHING;
        GET DIAGNOSTICS v_count = ROW_COUNT;
        v_stored := v_stored + v_count;
    END LOOP;
    RETURN jsonb_build_object('stored', v_stored,
                              'duplicates', jsonb_array_length(p_events) - v_stored);
END
$$;

COMMENT ON FUNCTION mockbook_internal.store_webhook_events(jsonb) IS
'Glue (webhook intake): store the events of one HubSpot webhook delivery (1..100), dropping events
already stored (same eventId, subscriptionId, objectId). Returns {stored, duplicates}. Errors:
INVALID_ARGUMENT. Locks: none (inserted rows only).';
REVOKE ALL ON FUNCTION mockbook_internal.store_webhook_events(jsonb) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.store_webhook_events(jsonb) TO mockbook_glue;
