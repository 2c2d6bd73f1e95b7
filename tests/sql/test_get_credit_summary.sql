-- get_credit_summary: balances plus what each mock type can use, derived from credit_rules().
BEGIN;
SELECT plan(20);

SELECT volatility_is('hubspot_sync', 'get_credit_summary', ARRAY['text', 'text'], 'stable',
                     'get_credit_summary is STABLE');
SELECT is_definer('hubspot_sync', 'get_credit_summary', ARRAY['text', 'text'],
                    'get_credit_summary is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'get_credit_summary', ARRAY['text', 'text'], r, p,
                          format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.get_credit_summary(text, text)'), 0::bigint,
          'plpgsql_check: get_credit_summary is clean');
SELECT ok((SELECT proretset FROM pg_proc
           WHERE oid = 'hubspot_sync.get_credit_summary(text, text)'::regprocedure),
          'get_credit_summary returns SETOF (PostgREST select= and filters work)');
SELECT isnt(obj_description('hubspot_sync.get_credit_summary(text, text)'::regprocedure, 'pg_proc'),
            NULL, 'get_credit_summary has a comment');

DO $$ BEGIN
    PERFORM tests.make_student(p_sj := 1, p_cs := 2, p_sjmini := 3, p_md := 4, p_shared := 5,
                               p_student_id := 'SUM1', p_hubspot_id := 'CSUM1');
    PERFORM tests.make_student(p_student_id := 'SUM2');
    UPDATE hubspot_sync.hubspot_contact_credits
    SET sj_credits = NULL, shared_mock_credits = NULL, email = 'Mixed.Case@Example.com'
    WHERE student_id = 'SUM2';
END $$;

SELECT throws_ok($$SELECT tests.rpc_rows('anon', 'hubspot_sync.get_credit_summary(p_student_id := ''SUM1'', p_email := ''sum1@example.com'')')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc_rows('authenticated', 'hubspot_sync.get_credit_summary(p_student_id := ''SUM1'', p_email := ''sum1@example.com'')')$$,
                 '42501', NULL, 'authenticated is refused');

SELECT is((tests.rpc_rows('service_role', 'hubspot_sync.get_credit_summary(p_student_id := ''SUM1'', p_email := ''sum1@example.com'')')
               -> 0) - 'contact_id',
          jsonb_build_object(
              'hubspot_id', 'CSUM1', 'student_id', 'SUM1', 'email', 'sum1@example.com',
              'firstname', 'FirstSUM1', 'lastname', 'LastSUM1', 'sj_credits', 1, 'cs_credits', 2,
              'sjmini_credits', 3, 'mock_discussion_token', 4, 'shared_mock_credits', 5,
              'available', '{"Situational Judgment": 6, "Clinical Skills": 7, "Mini-mock": 3,
                             "Mock Discussion": 4}'::jsonb),
          'a GET (read-only) returns the balances and SJ = sj + shared, CS = cs + shared, '
          'Mini-mock = sjmini, Mock Discussion = tokens');
SELECT is(jsonb_array_length(tests.rpc_rows('service_role', 'hubspot_sync.get_credit_summary(p_student_id := ''SUM1'', p_email := ''sum1@example.com'')')),
          1, 'exactly one row');
SELECT is(tests.rpc_rows('service_role', 'hubspot_sync.get_credit_summary(p_student_id := ''SUM1'', p_email := ''sum1@example.com'')') -> 0 ->> 'contact_id',
          (SELECT id::text FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'SUM1'),
          'contact_id is the contact''s uuid');
SELECT is(tests.rpc_rows('service_role', 'hubspot_sync.get_credit_summary(p_student_id := ''SUM2'', p_email := ''mixed.case@EXAMPLE.com'')') -> 0 -> 'available',
          '{"Situational Judgment": 0, "Clinical Skills": 0, "Mini-mock": 0, "Mock Discussion": 0}'::jsonb,
          'email matches case-insensitively; NULL balances count as 0');
SELECT is(tests.rpc_rows('service_role', 'hubspot_sync.get_credit_summary(p_student_id := ''SUM2'', p_email := ''mixed.case@example.com'')') -> 0 -> 'sj_credits',
          '0'::jsonb, 'a NULL balance is reported as 0');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(
              tests.rpc_rows('service_role', 'hubspot_sync.get_credit_summary(p_student_id := ''SUM1'', p_email := ''sum1@example.com'')') -> 0 -> 'available') AS k),
          (SELECT array_agg(DISTINCT mock_type ORDER BY mock_type) FROM hubspot_sync.credit_rules()),
          'available has one key per mock type of credit_rules()');

SELECT throws_ok($$SELECT tests.rpc_rows('service_role', 'hubspot_sync.get_credit_summary(p_student_id := ''SUM1'', p_email := ''other@example.com'')')$$,
                 'PT404', 'CONTACT_NOT_FOUND', 'a wrong email is CONTACT_NOT_FOUND');
SELECT throws_ok($$SELECT tests.rpc_rows('service_role', 'hubspot_sync.get_credit_summary(p_student_id := ''NOPE'', p_email := ''sum1@example.com'')')$$,
                 'PT404', 'CONTACT_NOT_FOUND', 'an unknown student is CONTACT_NOT_FOUND');
SELECT throws_ok($$SELECT tests.rpc_rows('service_role', 'hubspot_sync.get_credit_summary(p_student_id := ''SUM1'', p_email := NULL)')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a missing email is INVALID_ARGUMENT');
SELECT throws_ok($$SELECT tests.rpc_rows('service_role', 'hubspot_sync.get_credit_summary(p_student_id := '''', p_email := ''sum1@example.com'')')$$,
                 'PT400', 'INVALID_ARGUMENT', 'an empty student id is INVALID_ARGUMENT');

SELECT * FROM finish();
ROLLBACK;
