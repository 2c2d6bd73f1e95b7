-- store_webhook_events / claim_webhook_events / finish_webhook_events: the webhook intake stores
-- a delivery (deduplicated by eventId, subscriptionId, objectId), the processor leases, finishes
-- or retries the events with a backoff, and gives up after p_max_attempts.
BEGIN;
SELECT plan(48);

SELECT * FROM tests.glue_function_ok('store_webhook_events', ARRAY['jsonb'], 'volatile');
SELECT * FROM tests.glue_function_ok('claim_webhook_events', ARRAY['integer', 'integer'],
                                     'volatile');
SELECT * FROM tests.glue_function_ok('finish_webhook_events',
                                     ARRAY['bigint[]', 'text', 'integer'], 'volatile');
SELECT * FROM tests.request_roles_refused(
    'mockbook_internal.store_webhook_events(''[{"eventId": 1}]'')');
SELECT table_privs_are('hubspot_sync', 'webhook_events', 'anon', '{}'::text[],
                       'anon cannot read webhook events');

DELETE FROM hubspot_sync.webhook_events;
SELECT is(mockbook_internal.store_webhook_events($$[
    {"eventId": 11, "subscriptionId": 7, "subscriptionType": "object.propertyChange",
     "objectTypeId": "2-50158939", "objectId": 501, "occurredAt": 1700000000000,
     "propertyName": "capacity", "propertyValue": "12", "attemptNumber": 0},
    {"eventId": 12, "subscriptionId": 8, "subscriptionType": "contact.creation",
     "objectId": 601, "occurredAt": 1700000001000, "attemptNumber": 0}]$$),
    '{"stored": 2, "duplicates": 0}'::jsonb, 'a delivery of two events is stored');
SELECT results_eq(
    $$SELECT event_id, subscription_id, subscription_type, object_type_id, object_id,
             occurred_at, payload ->> 'propertyValue'
      FROM hubspot_sync.webhook_events ORDER BY event_id$$,
    $$VALUES (11::bigint, 7::bigint, 'object.propertyChange', '2-50158939', '501',
              to_timestamp(1700000000), '12'),
             (12::bigint, 8::bigint, 'contact.creation', '0-1', '601',
              to_timestamp(1700000001), NULL)$$,
    'one row per event; contact.* events are object type 0-1; the event is kept whole');
SELECT is(mockbook_internal.store_webhook_events($$[
    {"eventId": 11, "subscriptionId": 7, "subscriptionType": "object.propertyChange",
     "objectTypeId": "2-50158939", "objectId": 501, "occurredAt": 1700000000000,
     "propertyName": "capacity", "propertyValue": "12", "attemptNumber": 1},
    {"eventId": 13, "subscriptionId": 7, "subscriptionType": "object.propertyChange",
     "objectTypeId": "2-50158939", "objectId": 501, "occurredAt": 1700000002000}]$$),
    '{"stored": 1, "duplicates": 1}'::jsonb, 'a redelivered event is a duplicate, not stored');
SELECT is((SELECT count(*)::integer FROM hubspot_sync.webhook_events), 3, 'three events stored');

SELECT throws_ok($$SELECT mockbook_internal.store_webhook_events('{}')$$, 'PT400',
                 'INVALID_ARGUMENT', 'not an array: refused');
SELECT throws_ok($$SELECT mockbook_internal.store_webhook_events('[]')$$, 'PT400',
                 'INVALID_ARGUMENT', 'an empty delivery: refused');
SELECT throws_ok(
    format('SELECT mockbook_internal.store_webhook_events(%L)',
           (SELECT jsonb_agg(jsonb_build_object('eventId', g, 'subscriptionType', 'contact.creation',
                                                'objectId', g, 'occurredAt', 1))
            FROM generate_series(1, 101) AS g)),
    'PT400', 'INVALID_ARGUMENT', 'more than 100 events: refused');
SELECT throws_ok($$SELECT mockbook_internal.store_webhook_events(
                     '[{"eventId": 20, "subscriptionType": "contact.creation", "objectId": 1,
                        "occurredAt": 1}, {"eventId": "x", "subscriptionType": "contact.creation",
                        "objectId": 2, "occurredAt": 1}]')$$,
                 'PT400', 'INVALID_ARGUMENT', 'an event without a numeric eventId: refused');
SELECT throws_ok($$SELECT mockbook_internal.store_webhook_events(
                     '[{"eventId": 21, "subscriptionType": "contact.creation", "occurredAt": 1}]')$$,
                 'PT400', 'INVALID_ARGUMENT', 'an event without an objectId: refused');
SELECT is((SELECT count(*)::integer FROM hubspot_sync.webhook_events), 3,
          'a refused delivery stored nothing (not even its good events)');

-- claiming and finishing
SELECT is((SELECT array_agg(event_id ORDER BY event_id)
           FROM mockbook_internal.claim_webhook_events(2, 60)), ARRAY[11, 12]::bigint[],
          'the oldest two are claimed');
SELECT is((SELECT array_agg(event_id) FROM mockbook_internal.claim_webhook_events(10, 60)),
          ARRAY[13]::bigint[], 'leased events are not claimed again');
SELECT is((SELECT count(*)::integer FROM mockbook_internal.claim_webhook_events(10, 60)), 0,
          'nothing left to claim');
SELECT is(mockbook_internal.finish_webhook_events(
              ARRAY(SELECT id FROM hubspot_sync.webhook_events WHERE event_id IN (11, 12))),
          2, 'two finished');
SELECT is((SELECT count(*)::integer FROM hubspot_sync.webhook_events
           WHERE processed_at IS NOT NULL AND leased_until IS NULL), 2,
          'finished events are processed, their lease cleared');
SELECT is(mockbook_internal.finish_webhook_events(
              ARRAY(SELECT id FROM hubspot_sync.webhook_events WHERE event_id = 13), 'HubSpot 503'),
          1, 'a failure is recorded');
SELECT ok((SELECT processed_at IS NULL AND last_error = 'HubSpot 503'
                  AND leased_until > now() + interval '1 second'
           FROM hubspot_sync.webhook_events WHERE event_id = 13),
          'a failed event stays pending with its error, due after a backoff');
SELECT is((SELECT count(*)::integer FROM mockbook_internal.claim_webhook_events(10, 60)), 0,
          'a failed event is not claimed during its backoff');
UPDATE hubspot_sync.webhook_events SET leased_until = now() - interval '1 second'
WHERE event_id = 13;
SELECT is((SELECT attempts FROM mockbook_internal.claim_webhook_events(10, 60)), 2,
          'after the backoff it is claimed again, its second attempt');
SELECT is(mockbook_internal.finish_webhook_events(
              ARRAY(SELECT id FROM hubspot_sync.webhook_events WHERE event_id = 13),
              'still failing', 2), 1, 'the second failure of two allowed');
SELECT ok((SELECT processed_at IS NOT NULL AND last_error = 'still failing'
           FROM hubspot_sync.webhook_events WHERE event_id = 13),
          'given up after p_max_attempts: processed, the error kept');
SELECT is(mockbook_internal.finish_webhook_events(
              ARRAY(SELECT id FROM hubspot_sync.webhook_events WHERE event_id = 13)), 0,
          'finishing a processed event again changes nothing');

-- retention
UPDATE hubspot_sync.webhook_events SET processed_at = now() - interval '8 days'
WHERE event_id = 11;
SELECT is(mockbook_internal.finish_webhook_events('{}'::bigint[]), 0, 'nothing to finish');
SELECT is((SELECT array_agg(event_id ORDER BY event_id) FROM hubspot_sync.webhook_events),
          ARRAY[12, 13]::bigint[], 'processed events older than 7 days are deleted');

SELECT throws_ok($$SELECT * FROM mockbook_internal.claim_webhook_events(0, 60)$$, 'PT400',
                 'INVALID_ARGUMENT', 'a zero limit: refused');
SELECT throws_ok($$SELECT * FROM mockbook_internal.claim_webhook_events(10, 0)$$, 'PT400',
                 'INVALID_ARGUMENT', 'a zero lease: refused');
SELECT throws_ok($$SELECT mockbook_internal.finish_webhook_events(NULL)$$, 'PT400',
                 'INVALID_ARGUMENT', 'no ids: refused');

SELECT * FROM finish();
ROLLBACK;
