-- get_booking (compatibility): the production booking lookup, same signature and type.
BEGIN;
SELECT plan(18);

SELECT is(pg_get_function_arguments('hubspot_sync.get_booking(uuid, text, text)'::regprocedure),
          'p_id uuid DEFAULT NULL::uuid, p_hubspot_id text DEFAULT NULL::text, '
          'p_booking_id text DEFAULT NULL::text',
          'the production parameter names and defaults');
SELECT function_returns('hubspot_sync', 'get_booking', ARRAY['uuid', 'text', 'text'],
                        'hubspot_sync.hubspot_bookings', 'returns the production row type');
SELECT volatility_is('hubspot_sync', 'get_booking', ARRAY['uuid', 'text', 'text'], 'stable',
                     'get_booking is STABLE');
SELECT is_definer('hubspot_sync', 'get_booking', ARRAY['uuid', 'text', 'text'],
                    'get_booking is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'get_booking', ARRAY['uuid', 'text', 'text'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.get_booking(uuid, text, text)'), 0::bigint,
          'plpgsql_check: get_booking is clean');
SELECT matches(obj_description('hubspot_sync.get_booking(uuid, text, text)'::regprocedure, 'pg_proc'),
               '^Compatibility: ', 'commented as a compatibility function');

CREATE TEMP TABLE bk (n int, id uuid);
DO $$ BEGIN
    PERFORM tests.make_student(p_student_id := 'GB1');
    PERFORM tests.make_exam(p_hubspot_id := 'EXGB1');
    PERFORM tests.make_exam(p_hubspot_id := 'EXGB2', p_exam_date := hubspot_sync.business_today() + 20);
    INSERT INTO bk VALUES (1, tests.seed_booking('GB1', 'EXGB1', p_hubspot_id := 'HBGB1')),
                          (2, tests.seed_booking('GB1', 'EXGB2', p_hubspot_id := 'HBGB2'));
END $$;
GRANT SELECT ON bk TO service_role;

SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.get_booking(p_hubspot_id := ''HBGB1'')', 'GET')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', 'hubspot_sync.get_booking(p_hubspot_id := ''HBGB1'')', 'GET')$$,
                 '42501', NULL, 'authenticated is refused');

SELECT is(tests.rpc('service_role', format('hubspot_sync.get_booking(p_id := %L)', (SELECT id FROM bk WHERE n = 1)), 'GET'),
          (SELECT to_jsonb(b) FROM hubspot_sync.hubspot_bookings AS b WHERE id = (SELECT id FROM bk WHERE n = 1)),
          'a GET by uuid returns the whole row');
SELECT is(tests.rpc('service_role', 'hubspot_sync.get_booking(p_hubspot_id := ''HBGB2'')', 'GET') ->> 'associated_mock_exam',
          'EXGB2', 'by HubSpot id');
SELECT is(tests.rpc('service_role', format('hubspot_sync.get_booking(p_booking_id := %L)',
              tests.code_of((SELECT id FROM bk WHERE n = 1))), 'GET') ->> 'hubspot_id',
          'HBGB1', 'by booking code');
SELECT is(tests.rpc('service_role', format('hubspot_sync.get_booking(p_id := %L, p_hubspot_id := ''HBGB2'')',
              (SELECT id FROM bk WHERE n = 1)), 'GET') ->> 'hubspot_id',
          'HBGB1', 'p_id takes precedence over p_hubspot_id');
SELECT is(tests.rpc('service_role', format('hubspot_sync.get_booking(p_hubspot_id := ''HBGB2'', p_booking_id := %L)',
              tests.code_of((SELECT id FROM bk WHERE n = 1))), 'GET') ->> 'hubspot_id',
          'HBGB2', 'p_hubspot_id takes precedence over p_booking_id');
SELECT is(tests.rpc('service_role', 'hubspot_sync.get_booking(p_booking_id := ''BK-NOPE'')', 'GET'),
          NULL, 'no match returns NULL, as in production');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.get_booking()', 'GET')$$,
                 'PT400', 'INVALID_ARGUMENT', 'no key at all is INVALID_ARGUMENT (not a raw P0001)');

SELECT * FROM finish();
ROLLBACK;
