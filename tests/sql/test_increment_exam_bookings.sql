-- increment_exam_bookings (compatibility): returns the authoritative Active count, changes nothing.
BEGIN;
SELECT plan(17);

SELECT is(pg_get_function_arguments('hubspot_sync.increment_exam_bookings(text, integer)'::regprocedure),
          'p_exam_id text, p_delta integer', 'the production parameter names');
SELECT function_returns('hubspot_sync', 'increment_exam_bookings', ARRAY['text', 'integer'], 'integer',
                        'returns integer as in production');
SELECT volatility_is('hubspot_sync', 'increment_exam_bookings', ARRAY['text', 'integer'], 'stable',
                     'increment_exam_bookings is STABLE (it no longer writes)');
SELECT is_definer('hubspot_sync', 'increment_exam_bookings', ARRAY['text', 'integer'],
                    'increment_exam_bookings is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'increment_exam_bookings', ARRAY['text', 'integer'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.increment_exam_bookings(text, integer)'), 0::bigint,
          'plpgsql_check: increment_exam_bookings is clean');
SELECT matches(obj_description('hubspot_sync.increment_exam_bookings(text, integer)'::regprocedure,
                               'pg_proc'), '^Compatibility: ', 'commented as a compatibility function');

DO $$ BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'EXIEB1');
    PERFORM tests.make_exam(p_hubspot_id := 'EXIEB2');
    PERFORM tests.make_student(p_student_id := 'IEB' || i) FROM generate_series(1, 4) AS i;
    PERFORM tests.seed_booking('IEB1', 'EXIEB1');
    PERFORM tests.seed_booking('IEB2', 'EXIEB1');
    PERFORM tests.seed_booking('IEB3', 'EXIEB1', p_status := 'Cancelled');
    PERFORM tests.seed_booking('IEB4', 'EXIEB1', p_status := 'Completed', p_attendance := 'Yes');
END $$;

SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.increment_exam_bookings(p_exam_id := ''EXIEB1'', p_delta := 1)')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', 'hubspot_sync.increment_exam_bookings(p_exam_id := ''EXIEB1'', p_delta := 1)')$$,
                 '42501', NULL, 'authenticated is refused');

DELETE FROM hubspot_sync.supabase_audit_log;
SELECT is(tests.rpc('service_role', 'hubspot_sync.increment_exam_bookings(p_exam_id := ''EXIEB1'', p_delta := 1)'),
          '2'::jsonb, 'a POST returns the Active count (Cancelled and Completed not counted)');
SELECT is(tests.rpc('service_role', 'hubspot_sync.increment_exam_bookings(p_exam_id := ''EXIEB1'', p_delta := -5)'),
          '2'::jsonb, 'p_delta is ignored');
SELECT is((SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'EXIEB1'), 2,
          'total_bookings is not changed');
SELECT is((SELECT count(*)::int FROM hubspot_sync.supabase_audit_log), 0, 'nothing was written');
SELECT is(tests.rpc('service_role', 'hubspot_sync.increment_exam_bookings(p_exam_id := ''EXIEB2'', p_delta := 1)', 'GET'),
          '0'::jsonb, 'an exam without bookings has 0 (also callable read-only)');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.increment_exam_bookings(p_exam_id := ''NOPE'', p_delta := 1)')$$,
                 'PT404', 'EXAM_NOT_FOUND', 'an unknown exam is EXAM_NOT_FOUND');

SELECT * FROM finish();
ROLLBACK;
