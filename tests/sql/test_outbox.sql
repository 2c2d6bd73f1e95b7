-- The outbox: triggers write one sync_queue row per relevant change; claim/complete/fail/purge
-- and the dead-letter functions move rows through their life.
BEGIN;
SELECT plan(44);

CREATE TEMP TABLE t_ids ON COMMIT DROP AS
SELECT tests.make_exam(p_capacity := 5) AS exam, tests.make_student(p_sj := 3) AS student;
GRANT SELECT ON t_ids TO PUBLIC;

CREATE FUNCTION pg_temp.queued(p_table text, p_id uuid) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM hubspot_sync.sync_queue WHERE table_name = p_table AND record_id = p_id
$$;
CREATE FUNCTION pg_temp.exam_uuid() RETURNS uuid LANGUAGE sql AS $$
    SELECT id FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = (SELECT exam FROM t_ids)
$$;
CREATE FUNCTION pg_temp.contact_uuid() RETURNS uuid LANGUAGE sql AS $$
    SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = (SELECT student FROM t_ids)
$$;

-- triggers ---------------------------------------------------------------------------------------
SELECT is(pg_temp.queued('hubspot_mock_exams', pg_temp.exam_uuid()), 1::bigint,
          'an inserted exam is queued once');
SELECT is((SELECT operation FROM hubspot_sync.sync_queue WHERE record_id = pg_temp.exam_uuid()),
          'INSERT', 'with operation INSERT');
SELECT ok((SELECT new_data ->> 'hubspot_id' FROM hubspot_sync.sync_queue
           WHERE record_id = pg_temp.exam_uuid()) = (SELECT exam FROM t_ids),
          'carrying the new row');

UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 6 WHERE id = pg_temp.exam_uuid();
SELECT is(pg_temp.queued('hubspot_mock_exams', pg_temp.exam_uuid()), 2::bigint,
          'a real change is queued');
SELECT is((SELECT (old_data ->> 'capacity') || '->' || (new_data ->> 'capacity')
           FROM hubspot_sync.sync_queue WHERE record_id = pg_temp.exam_uuid()
           ORDER BY id DESC LIMIT 1), '5->6', 'with old and new values');

UPDATE hubspot_sync.hubspot_mock_exams
SET synced_at = now() - interval '1 hour', hubspot_last_sync_at = now(), updated_at = now()
WHERE id = pg_temp.exam_uuid();
SELECT is(pg_temp.queued('hubspot_mock_exams', pg_temp.exam_uuid()), 2::bigint,
          'a bookkeeping-only update is not queued');
UPDATE hubspot_sync.hubspot_mock_exams SET capacity = capacity WHERE id = pg_temp.exam_uuid();
SELECT is(pg_temp.queued('hubspot_mock_exams', pg_temp.exam_uuid()), 2::bigint,
          'an update that changes nothing is not queued');

SELECT set_config('mockbook.origin', 'hubspot', true);
UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 7 WHERE id = pg_temp.exam_uuid();
SELECT set_config('mockbook.origin', '', true);
SELECT is(pg_temp.queued('hubspot_mock_exams', pg_temp.exam_uuid()), 2::bigint,
          'a change applied from HubSpot (mockbook.origin = hubspot) does not echo back');
SELECT is((SELECT new_values FROM hubspot_sync.supabase_audit_log
           WHERE record_id = pg_temp.exam_uuid() AND operation = 'UPDATE'
           ORDER BY id DESC LIMIT 1), '{"capacity": 7}'::jsonb,
          'but it is audited (one trigger does both jobs: the origin only skips the outbox)');

UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = 4 WHERE id = pg_temp.contact_uuid();
SELECT is(pg_temp.queued('hubspot_contact_credits', pg_temp.contact_uuid()), 2::bigint,
          'a credit change of a contact is queued');

INSERT INTO hubspot_sync.hubspot_contact_credits (student_id, email) VALUES ('DELME1', 'd@x.org');
DELETE FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'DELME1';
SELECT is((SELECT string_agg(operation, ',' ORDER BY id) FROM hubspot_sync.sync_queue
           WHERE old_data ->> 'student_id' = 'DELME1' OR new_data ->> 'student_id' = 'DELME1'),
          'INSERT,DELETE', 'a delete is queued with the old row');

SELECT is((SELECT count(*) FROM pg_trigger
           WHERE tgname = 'record_row_change' AND NOT tgisinternal)::integer, 3,
          'the outbox trigger is on the three tables');
SELECT is((SELECT count(*) FROM pg_trigger
           WHERE tgname IN ('queue_sync_change', 'audit_row_change'))::integer, 0,
          'no second row trigger turns the same rows into jsonb');

-- claim ------------------------------------------------------------------------------------------
DELETE FROM hubspot_sync.sync_queue;
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, new_data)
SELECT 'hubspot_bookings', ('00000000-0000-0000-0000-00000000000' || (i % 4))::uuid, 'UPDATE', '{}'
FROM generate_series(1, 8) AS i;

SELECT is((SELECT count(*) FROM mockbook_internal.claim_sync_batch('w1', 1, 60))::integer, 2,
          'claiming one row takes the other pending row of the same record too');
SELECT is((SELECT count(*) FROM mockbook_internal.claim_sync_batch('w2', 100, 60))::integer, 6,
          'a second worker takes only what the first did not lease');
SELECT is((SELECT count(*) FROM mockbook_internal.claim_sync_batch('w3', 100, 60))::integer, 0,
          'nothing is left for a third');
SELECT is((SELECT count(DISTINCT lease_owner) FROM hubspot_sync.sync_queue)::integer, 2,
          'every row has exactly one owner');
SELECT is((SELECT max(attempts) FROM hubspot_sync.sync_queue), 1, 'a claim counts one attempt');
SELECT throws_ok($$SELECT mockbook_internal.claim_sync_batch('', 10, 60)$$, 'PT400', 'INVALID_ARGUMENT',
                 'a claim needs a worker name');
SELECT throws_ok($$SELECT mockbook_internal.claim_sync_batch('w', 0, 60)$$, 'PT400', 'INVALID_ARGUMENT',
                 'and a sane limit');

-- an expired lease comes back (the worker died)
UPDATE hubspot_sync.sync_queue SET lease_expires_at = now() - interval '1 second'
WHERE lease_owner = 'w1';
SELECT is((SELECT count(*) FROM mockbook_internal.claim_sync_batch('w3', 100, 60))::integer, 2,
          'rows of a dead worker are claimed again after their lease');
SELECT is((SELECT max(attempts) FROM hubspot_sync.sync_queue WHERE lease_owner = 'w3'), 2,
          'and that counts as another attempt');

-- complete -----------------------------------------------------------------------------------------
SELECT is(mockbook_internal.complete_sync_batch('w1', ARRAY(SELECT id FROM hubspot_sync.sync_queue
                                                        WHERE lease_owner = 'w3')), 0,
          'a worker cannot complete rows it lost');
SELECT is(mockbook_internal.complete_sync_batch('w3', ARRAY(SELECT id FROM hubspot_sync.sync_queue
                                                        WHERE lease_owner = 'w3')), 2,
          'the lease holder completes them');
SELECT is((SELECT count(*) FROM hubspot_sync.sync_queue WHERE done_at IS NOT NULL)::integer, 2,
          'completed rows are marked done');

-- write-back of HubSpot ids, without echo
DELETE FROM hubspot_sync.sync_queue;
UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = NULL WHERE id = pg_temp.contact_uuid();
SELECT is((SELECT count(*) FROM mockbook_internal.claim_sync_batch('w9', 10, 60))::integer, 1,
          'the contact change is claimed');
SELECT is(mockbook_internal.complete_sync_batch('w9',
            ARRAY(SELECT id FROM hubspot_sync.sync_queue),
            jsonb_build_object('hubspot_contact_credits',
                               jsonb_build_object(pg_temp.contact_uuid()::text, 'HS-777'),
                               'hubspot_mock_exams',
                               jsonb_build_object(pg_temp.exam_uuid()::text, 'ignored'))), 1,
          'completed with HubSpot ids');
SELECT is((SELECT hubspot_id FROM hubspot_sync.hubspot_contact_credits
           WHERE id = pg_temp.contact_uuid()), 'HS-777', 'the HubSpot id is written back');
SELECT ok((SELECT hubspot_last_sync_at IS NOT NULL FROM hubspot_sync.hubspot_mock_exams
           WHERE id = pg_temp.exam_uuid()), 'hubspot_last_sync_at is set');
SELECT is((SELECT count(*) FROM hubspot_sync.sync_queue WHERE done_at IS NULL)::integer, 0,
          'the write-back queues nothing');
SELECT is(current_setting('mockbook.origin', true), '', 'and the origin marker is restored');

-- fail, backoff, dead letters ------------------------------------------------------------------
DELETE FROM hubspot_sync.sync_queue;
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, new_data, attempts)
VALUES ('hubspot_bookings', '00000000-0000-0000-0000-0000000000a1', 'INSERT', '{"booking_id":"BK-1"}', 0),
       ('hubspot_bookings', '00000000-0000-0000-0000-0000000000a2', 'INSERT', '{"booking_id":"BK-2"}', 7);
SELECT is((SELECT count(*) FROM mockbook_internal.claim_sync_batch('w1', 10, 60))::integer, 2,
          'two rows claimed');
SELECT is(mockbook_internal.fail_sync_rows('w1', ARRAY(SELECT id FROM hubspot_sync.sync_queue), 'HTTP 502', 8),
          '{"dead": 1, "retried": 1}'::jsonb, 'one retried, the one at 8 attempts dead-lettered');
SELECT ok((SELECT next_attempt_at BETWEEN now() + interval '1 second' AND now() + interval '2 seconds'
           FROM hubspot_sync.sync_queue WHERE record_id = '00000000-0000-0000-0000-0000000000a1'),
          'first retry after 1-2 s (2 s backoff with jitter)');
SELECT is((SELECT lease_owner FROM hubspot_sync.sync_queue
           WHERE record_id = '00000000-0000-0000-0000-0000000000a1'), NULL, 'lease released');
SELECT is((SELECT entity_id || ' ' || direction || ' ' || error || ' ' || attempts
           FROM hubspot_sync.sync_errors), '00000000-0000-0000-0000-0000000000a2 push HTTP 502 8',
          'the dead letter is recorded in sync_errors');

UPDATE hubspot_sync.sync_queue SET next_attempt_at = now(), attempts = 3
WHERE record_id = '00000000-0000-0000-0000-0000000000a1';
SELECT is((SELECT attempts::integer FROM mockbook_internal.claim_sync_batch('w1', 10, 60)), 4, 'claimed (4th)');
SELECT is(mockbook_internal.fail_sync_rows('w1', ARRAY(SELECT id FROM hubspot_sync.sync_queue
                                                   WHERE dead_at IS NULL), '429', 8, 10, false),
          '{"dead": 0, "retried": 1}'::jsonb, 'a rate-limit wait');
SELECT ok((SELECT attempts = 3 AND next_attempt_at BETWEEN now() + interval '9 seconds'
                                                       AND now() + interval '11 seconds'
           FROM hubspot_sync.sync_queue WHERE record_id = '00000000-0000-0000-0000-0000000000a1'),
          'gives the attempt back and waits Retry-After');

-- dlq retry / discard ----------------------------------------------------------------------------
SELECT is(mockbook_internal.resolve_dead_letters('retry', NULL, 'ops@example.com'),
          '{"action": "retry", "resolved": 1}'::jsonb, 'retrying the dead letter');
SELECT ok((SELECT dead_at IS NULL AND attempts = 0 FROM hubspot_sync.sync_queue
           WHERE record_id = '00000000-0000-0000-0000-0000000000a2'),
          'puts its row back in the queue with fresh attempts');
SELECT throws_ok($$SELECT mockbook_internal.resolve_dead_letters('explode')$$, 'PT400',
                 'INVALID_ARGUMENT', 'unknown dlq action');

-- purge --------------------------------------------------------------------------------------------
UPDATE hubspot_sync.sync_queue SET done_at = now() - interval '8 days'
WHERE record_id = '00000000-0000-0000-0000-0000000000a1';
SELECT is(mockbook_internal.purge_sync_queue(), 1::bigint, 'done rows older than 7 days are purged');
SELECT is((SELECT count(*) FROM hubspot_sync.sync_queue)::integer, 1, 'pending rows stay');

SELECT * FROM finish();
ROLLBACK;
