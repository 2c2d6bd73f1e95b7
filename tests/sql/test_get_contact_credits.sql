-- get_contact_credits (compatibility): the production contact lookup, same signature and type.
BEGIN;
SELECT plan(21);

SELECT is(pg_get_function_arguments('hubspot_sync.get_contact_credits(text, text, uuid, text)'::regprocedure),
          'p_student_id text DEFAULT NULL::text, p_email text DEFAULT NULL::text, '
          'p_id uuid DEFAULT NULL::uuid, p_hubspot_id text DEFAULT NULL::text',
          'the production parameter names and defaults');
SELECT function_returns('hubspot_sync', 'get_contact_credits', ARRAY['text', 'text', 'uuid', 'text'],
                        'hubspot_sync.hubspot_contact_credits', 'returns the production row type');
SELECT volatility_is('hubspot_sync', 'get_contact_credits', ARRAY['text', 'text', 'uuid', 'text'],
                     'stable', 'get_contact_credits is STABLE');
SELECT is_definer('hubspot_sync', 'get_contact_credits', ARRAY['text', 'text', 'uuid', 'text'],
                    'get_contact_credits is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'get_contact_credits', ARRAY['text', 'text', 'uuid', 'text'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.get_contact_credits(text, text, uuid, text)'),
          0::bigint, 'plpgsql_check: get_contact_credits is clean');
SELECT matches(obj_description('hubspot_sync.get_contact_credits(text, text, uuid, text)'::regprocedure,
                               'pg_proc'), '^Compatibility: ', 'commented as a compatibility function');

DO $$ BEGIN
    PERFORM tests.make_student(p_sj := 3, p_shared := 1, p_student_id := 'GCC1', p_hubspot_id := 'CGCC1');
    PERFORM tests.make_student(p_student_id := 'GCC2', p_hubspot_id := 'CGCC2');
END $$;

SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.get_contact_credits(p_hubspot_id := ''CGCC1'')', 'GET')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', 'hubspot_sync.get_contact_credits(p_hubspot_id := ''CGCC1'')', 'GET')$$,
                 '42501', NULL, 'authenticated is refused');

SELECT is(tests.rpc('service_role', 'hubspot_sync.get_contact_credits(p_student_id := ''GCC1'', p_email := ''gcc1@example.com'')', 'GET'),
          (SELECT to_jsonb(c) FROM hubspot_sync.hubspot_contact_credits AS c WHERE student_id = 'GCC1'),
          'a GET by student id and email returns the whole row');
SELECT is(tests.rpc('service_role', 'hubspot_sync.get_contact_credits(p_student_id := ''GCC1'', p_email := ''GCC1@Example.COM'')', 'GET') ->> 'sj_credits',
          '3', 'the email matches case-insensitively');
SELECT is(tests.rpc('service_role', format('hubspot_sync.get_contact_credits(p_id := %L)',
              (SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'GCC1')), 'GET') ->> 'student_id',
          'GCC1', 'by uuid');
SELECT is(tests.rpc('service_role', 'hubspot_sync.get_contact_credits(p_hubspot_id := ''CGCC1'')', 'GET') ->> 'student_id',
          'GCC1', 'by HubSpot id');
SELECT is(tests.rpc('service_role', 'hubspot_sync.get_contact_credits(p_hubspot_id := ''CGCC2'', p_student_id := ''GCC1'', p_email := ''gcc1@example.com'')', 'GET') ->> 'student_id',
          'GCC2', 'p_hubspot_id takes precedence over student id and email');
SELECT is(tests.rpc('service_role', format('hubspot_sync.get_contact_credits(p_id := %L, p_hubspot_id := ''CGCC1'')',
              (SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'GCC2')), 'GET') ->> 'student_id',
          'GCC2', 'p_id takes precedence over p_hubspot_id');
SELECT is(tests.rpc('service_role', 'hubspot_sync.get_contact_credits(p_student_id := ''GCC1'', p_email := ''other@example.com'')', 'GET'),
          NULL, 'no match returns NULL, as in production');
SELECT is(tests.rpc('service_role', 'hubspot_sync.get_contact_credits(p_hubspot_id := ''NOPE'')', 'GET'),
          NULL, 'an unknown HubSpot id returns NULL');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.get_contact_credits()', 'GET')$$,
                 'PT400', 'INVALID_ARGUMENT', 'no key at all is INVALID_ARGUMENT (not a raw P0001)');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.get_contact_credits(p_student_id := ''GCC1'')', 'GET')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a student id without email is INVALID_ARGUMENT');

SELECT * FROM finish();
ROLLBACK;
