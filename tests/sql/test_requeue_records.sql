-- requeue_records: reconcile --repair queues the current state of chosen records for the push.
BEGIN;
SELECT plan(14);

SELECT * FROM tests.glue_function_ok('requeue_records', ARRAY['text', 'uuid[]'], 'volatile');
SELECT * FROM tests.request_roles_refused(
    'mockbook_internal.requeue_records(''hubspot_bookings'', ''{}'')');

DO $$ BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'RQX1');
    PERFORM tests.make_student(p_sj := 2, p_student_id := 'RQS' || i) FROM generate_series(1, 3) i;
END $$;
UPDATE hubspot_sync.sync_queue SET done_at = now() WHERE done_at IS NULL;
CREATE TEMP TABLE ids AS
    SELECT student_id, id FROM hubspot_sync.hubspot_contact_credits WHERE student_id LIKE 'RQS%';

SELECT is(tests.rpc('mockbook_glue', format(
              'mockbook_internal.requeue_records(''hubspot_contact_credits'', %L)',
              (SELECT array_agg(id) FROM ids WHERE student_id IN ('RQS1', 'RQS2'))
                  || gen_random_uuid())), '2'::jsonb,
          'two contacts queued (an unknown id is ignored)');
SELECT results_eq(
    $$SELECT q.operation::text, q.new_data ->> 'student_id', q.attempts::integer FROM hubspot_sync.sync_queue q
      WHERE q.done_at IS NULL ORDER BY 2$$,
    $$VALUES ('UPDATE', 'RQS1', 0), ('UPDATE', 'RQS2', 0)$$,
    'each carries the record''s current state');
SELECT is(mockbook_internal.requeue_records('hubspot_contact_credits',
                                       (SELECT array_agg(id) FROM ids)), 1::bigint,
          'records already waiting in the queue are not queued twice');
UPDATE hubspot_sync.sync_queue SET lease_owner = 'w', lease_expires_at = now() + interval '1 min'
WHERE new_data ->> 'student_id' = 'RQS1' AND done_at IS NULL;
SELECT is(mockbook_internal.requeue_records('hubspot_contact_credits',
                                       (SELECT array_agg(id) FROM ids WHERE student_id = 'RQS1')),
          1::bigint, 'a record being pushed right now is queued again (its newer state)');
SELECT is(mockbook_internal.requeue_records('hubspot_mock_exams',
              ARRAY[(SELECT id FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'RQX1')]),
          1::bigint, 'an exam');
SELECT throws_ok($$SELECT mockbook_internal.requeue_records('credit_ledger', '{}')$$, 'PT400',
                 'INVALID_ARGUMENT', 'only the three synced tables');

SELECT * FROM finish();
ROLLBACK;
