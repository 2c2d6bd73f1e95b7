-- sync_queue_next_due: when the next pending outbox row can be claimed.
BEGIN;
SELECT plan(11);

SELECT volatility_is('mockbook_internal', 'sync_queue_next_due', ARRAY[]::text[], 'stable',
                     'sync_queue_next_due is STABLE');
SELECT is_definer('mockbook_internal', 'sync_queue_next_due', ARRAY[]::text[],
                    'sync_queue_next_due is SECURITY DEFINER');
SELECT function_privs_are('mockbook_internal', 'sync_queue_next_due', ARRAY[]::text[], r, p,
                          format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{}'), ('mockbook_glue', '{EXECUTE}'))
     AS v(r, p);
SELECT throws_ok($$SELECT tests.rpc('anon', 'mockbook_internal.sync_queue_next_due()', 'GET')$$,
                 '42501', NULL, 'anon is refused');

DELETE FROM hubspot_sync.sync_queue;
SELECT is(tests.rpc('mockbook_glue', 'mockbook_internal.sync_queue_next_due()', 'GET'), NULL,
          'nothing pending: NULL');
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, next_attempt_at, done_at)
VALUES ('hubspot_bookings', gen_random_uuid(), 'INSERT', now() - interval '1 hour', now());
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, next_attempt_at)
VALUES ('hubspot_bookings', gen_random_uuid(), 'INSERT', now() + interval '30 seconds');
SELECT is(mockbook_internal.sync_queue_next_due(), 30.000, 'a row in backoff: the seconds until it is due (done rows do not count)');
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, next_attempt_at,
                                     lease_owner, lease_expires_at)
VALUES ('hubspot_bookings', gen_random_uuid(), 'INSERT', now(), 'w', now() + interval '12 seconds');
SELECT is(mockbook_internal.sync_queue_next_due(), 12.000, 'a row leased by another worker: the end of its lease');
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation)
VALUES ('hubspot_bookings', gen_random_uuid(), 'INSERT');
SELECT is(mockbook_internal.sync_queue_next_due(), 0.000, 'a due row: 0');

SELECT * FROM finish();
ROLLBACK;
