-- set_exam_capacity: capacity changes never go below the Active bookings.
BEGIN;
SELECT plan(24);

-- Catalog and privileges ---------------------------------------------------------------------------
SELECT volatility_is('hubspot_sync', 'set_exam_capacity', ARRAY['text', 'integer', 'text'], 'volatile',
                     'set_exam_capacity is VOLATILE');
SELECT is_definer('hubspot_sync', 'set_exam_capacity', ARRAY['text', 'integer', 'text'],
                    'set_exam_capacity is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'set_exam_capacity', ARRAY['text', 'integer', 'text'], r, p,
                          format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}'))
     AS v(r, p);
SELECT ok(NOT has_function_privilege('public', 'hubspot_sync.set_exam_capacity(text, integer, text)',
                                     'EXECUTE'), 'PUBLIC cannot execute set_exam_capacity');
SELECT is(tests.plpgsql_check_count('hubspot_sync.set_exam_capacity(text, integer, text)'), 0::bigint,
          'plpgsql_check: set_exam_capacity is clean');
SELECT isnt(obj_description('hubspot_sync.set_exam_capacity(text, integer, text)'::regprocedure,
                            'pg_proc'), NULL, 'set_exam_capacity has a comment');

-- Fixtures ---------------------------------------------------------------------------------------
DO $$ BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'EXCAP1', p_capacity := 5);
    PERFORM tests.make_exam(p_hubspot_id := 'EXCAP2', p_capacity := 3);
    PERFORM tests.make_student(p_student_id := 'CAP' || i) FROM generate_series(1, 4) AS i;
    PERFORM tests.seed_booking('CAP1', 'EXCAP1');
    PERFORM tests.seed_booking('CAP2', 'EXCAP1');
    PERFORM tests.seed_booking('CAP3', 'EXCAP1', p_status := 'Cancelled');
    PERFORM tests.seed_booking('CAP4', 'EXCAP1', p_status := 'Completed', p_attendance := 'Yes');
END $$;

-- Privileges through PostgREST ---------------------------------------------------------------------
SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.set_exam_capacity(p_mock_exam_id := ''EXCAP1'', p_capacity := 9)')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', 'hubspot_sync.set_exam_capacity(p_mock_exam_id := ''EXCAP1'', p_capacity := 9)')$$,
                 '42501', NULL, 'authenticated is refused');
SELECT is((SELECT capacity FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'EXCAP1'), 5,
          'refused calls changed nothing');

-- Success ------------------------------------------------------------------------------------------
SELECT is(tests.rpc('service_role', 'hubspot_sync.set_exam_capacity(p_mock_exam_id := ''EXCAP1'', p_capacity := 8)'),
          '{"success": true, "mock_exam_id": "EXCAP1", "capacity": 8, "previous_capacity": 5,
            "total_bookings": 2, "remaining_seats": 6, "offers_made": 0}'::jsonb,
          'service_role raises the capacity; Cancelled and Completed bookings do not hold seats');
SELECT is((SELECT capacity FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'EXCAP1'), 8,
          'the new capacity is stored');
SELECT is(tests.rpc('service_role', 'hubspot_sync.set_exam_capacity(p_mock_exam_id := ''EXCAP1'', p_capacity := 2)') ->> 'remaining_seats',
          '0', 'capacity may go down to exactly the Active count');
SELECT is(tests.rpc('service_role', 'hubspot_sync.set_exam_capacity(p_mock_exam_id := ''EXCAP2'', p_capacity := 0)') -> 'capacity',
          '0'::jsonb, 'an exam without bookings may be closed with capacity 0');

DELETE FROM hubspot_sync.supabase_audit_log;
SELECT is(tests.rpc('service_role', 'hubspot_sync.set_exam_capacity(p_mock_exam_id := ''EXCAP2'', p_capacity := 0)') -> 'previous_capacity',
          '0'::jsonb, 'setting the same capacity succeeds');
SELECT is((SELECT count(*)::int FROM hubspot_sync.supabase_audit_log), 0,
          'setting the same capacity writes nothing (no audit, no sync)');

-- Errors -------------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.set_exam_capacity(p_mock_exam_id := ''EXCAP1'', p_capacity := 1)')$$,
                 'PT422', 'CAPACITY_BELOW_BOOKED', 'below the Active bookings is refused');
SELECT is((SELECT capacity FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'EXCAP1'), 2,
          'a refused change leaves the capacity as it was');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.set_exam_capacity(p_mock_exam_id := ''EXCAP1'', p_capacity := -1)')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a negative capacity is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.set_exam_capacity(p_mock_exam_id := ''EXCAP1'', p_capacity := NULL)')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a NULL capacity is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.set_exam_capacity(p_mock_exam_id := NULL, p_capacity := 3)')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a missing exam id is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.set_exam_capacity(p_mock_exam_id := ''NOPE'', p_capacity := 3)')$$,
                 'PT404', 'EXAM_NOT_FOUND', 'an unknown exam is refused');
SELECT is(ARRAY(SELECT tests.invariant_violations()), ARRAY[]::text[],
          'total_bookings still equals the Active bookings');

SELECT * FROM finish();
ROLLBACK;
