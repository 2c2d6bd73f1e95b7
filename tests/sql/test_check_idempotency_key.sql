-- check_idempotency_key (compatibility): fixed to return mock_exam_id from associated_mock_exam.
BEGIN;
SELECT plan(15);

SELECT is(pg_get_function_arguments('hubspot_sync.check_idempotency_key(text)'::regprocedure),
          'p_idempotency_key text', 'the production parameter name');
SELECT function_returns('hubspot_sync', 'check_idempotency_key', ARRAY['text'], 'jsonb',
                        'returns jsonb as in production');
SELECT volatility_is('hubspot_sync', 'check_idempotency_key', ARRAY['text'], 'stable',
                     'check_idempotency_key is STABLE');
SELECT is_definer('hubspot_sync', 'check_idempotency_key', ARRAY['text'],
                    'check_idempotency_key is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'check_idempotency_key', ARRAY['text'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.check_idempotency_key(text)'), 0::bigint,
          'plpgsql_check: check_idempotency_key is clean');
SELECT matches(obj_description('hubspot_sync.check_idempotency_key(text)'::regprocedure, 'pg_proc'),
               '^Compatibility: ', 'commented as a compatibility function');

CREATE TEMP TABLE bk AS SELECT NULL::uuid AS id;
DO $$ BEGIN
    PERFORM tests.make_student(p_student_id := 'CIK1');
    PERFORM tests.make_exam(p_hubspot_id := 'EXCIK1');
    UPDATE bk SET id = tests.seed_booking('CIK1', 'EXCIK1', p_hubspot_id := 'HBCIK1',
                                          p_idempotency_key := 'key-cik-1');
END $$;

SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.check_idempotency_key(p_idempotency_key := ''key-cik-1'')', 'GET')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', 'hubspot_sync.check_idempotency_key(p_idempotency_key := ''key-cik-1'')', 'GET')$$,
                 '42501', NULL, 'authenticated is refused');

SELECT is(tests.rpc('service_role', 'hubspot_sync.check_idempotency_key(p_idempotency_key := ''key-cik-1'')', 'GET'),
          (SELECT jsonb_build_object('found', true, 'booking_id', b.booking_id, 'id', b.id,
                                     'hubspot_id', 'HBCIK1', 'is_active', 'Active',
                                     'student_id', 'CIK1', 'mock_exam_id', 'EXCIK1',
                                     'created_at', b.created_at)
           FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = (SELECT id FROM bk)),
          'a used key returns the booking, with mock_exam_id = the exam''s HubSpot id');
SELECT is(tests.rpc('service_role', 'hubspot_sync.check_idempotency_key(p_idempotency_key := ''key-unused'')', 'GET'),
          NULL, 'an unused key returns NULL');
SELECT is(tests.rpc('service_role', 'hubspot_sync.check_idempotency_key(p_idempotency_key := ''KEY-CIK-1'')', 'GET'),
          NULL, 'keys are compared exactly (case-sensitive)');
SELECT is(tests.rpc('service_role', 'hubspot_sync.check_idempotency_key(p_idempotency_key := NULL)', 'GET'),
          NULL, 'a NULL key returns NULL');

SELECT * FROM finish();
ROLLBACK;
