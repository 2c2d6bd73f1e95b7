-- claim_sync_batch takes half of a claim from the oldest due rows and half from the newest: a
-- change made while a backlog drains waits for one claim, not for the whole backlog.
BEGIN;
SELECT plan(4);

DELETE FROM hubspot_sync.sync_queue;
-- a backlog of 100 rows due for an hour, then one fresh change
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, new_data, next_attempt_at)
SELECT 'hubspot_bookings', gen_random_uuid(), 'INSERT', '{}',
       now() - interval '1 hour' + k * interval '1 second'
FROM generate_series(1, 100) AS k;
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, new_data, next_attempt_at)
VALUES ('hubspot_bookings', gen_random_uuid(), 'INSERT', '{"fresh": true}',
        now() - interval '1 second');
CREATE TEMP TABLE claimed AS SELECT * FROM mockbook_internal.claim_sync_batch('A', 10, 60);

SELECT is((SELECT count(*) FROM claimed)::integer, 10, 'p_limit rows');
SELECT ok((SELECT bool_or(new_data = '{"fresh": true}') FROM claimed),
          'the fresh change is in the first claim, ahead of 95 older rows');
SELECT is((SELECT count(*) FROM claimed c
           WHERE c.id IN (SELECT q.id FROM hubspot_sync.sync_queue AS q
                          ORDER BY q.next_attempt_at, q.id LIMIT 5))::integer, 5,
          'half of it the oldest rows');
-- a claim of one row takes the oldest: a backlog is never starved by fresh rows
SELECT is((SELECT next_attempt_at FROM mockbook_internal.claim_sync_batch('B', 1, 60)),
          (SELECT min(next_attempt_at) FROM hubspot_sync.sync_queue WHERE lease_owner IS NULL),
          'a claim of one takes the oldest due row');

SELECT * FROM finish();
ROLLBACK;
