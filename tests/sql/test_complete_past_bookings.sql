-- complete_past_bookings: after an exam day, Active bookings without attendance become
-- Completed, ledger-neutral, audited, total_bookings recounted; nothing else is touched.
BEGIN;
SELECT plan(14);

SELECT ok(NOT has_function_privilege('anon', 'hubspot_sync.complete_past_bookings(text)', 'EXECUTE')
          AND NOT has_function_privilege('authenticated', 'hubspot_sync.complete_past_bookings(text)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'hubspot_sync.complete_past_bookings(text)', 'EXECUTE'),
          'PUBLIC, anon and authenticated may not execute complete_past_bookings');
SELECT ok(has_function_privilege('service_role', 'hubspot_sync.complete_past_bookings(text)', 'EXECUTE'),
          'service_role may');
SELECT ok((SELECT proconfig @> ARRAY['search_path=""'] AND prosecdef AND provolatile = 'v'
           FROM pg_proc WHERE oid = 'hubspot_sync.complete_past_bookings(text)'::regprocedure),
          'search_path pinned, SECURITY DEFINER, VOLATILE');
SELECT ok(obj_description('hubspot_sync.complete_past_bookings(text)'::regprocedure, 'pg_proc') IS NOT NULL
          AND tests.plpgsql_check_count('hubspot_sync.complete_past_bookings(text)') = 0,
          'has a comment, plpgsql_check clean');

-- 06:00 today, business time zone: today's exam (09:00-12:00) has not ended, whatever the hour
-- the suite runs at
DO $$ BEGIN PERFORM tests.set_local_time('06:00'); END $$;
DO $$
DECLARE
    d date := hubspot_sync.business_today();
BEGIN
    PERFORM tests.isolate();
    PERFORM tests.make_exam(p_hubspot_id := 'CP_PAST', p_exam_date := d - 3, p_capacity := 5);
    PERFORM tests.make_exam(p_hubspot_id := 'CP_TODAY', p_exam_date := d, p_capacity := 5);
    PERFORM tests.make_student(p_sj := 3, p_student_id := s) FROM unnest(ARRAY['CPA', 'CPB', 'CPC', 'CPD']) AS s;
    PERFORM tests.seed_booking('CPA', 'CP_PAST');                                  -- completes
    PERFORM tests.seed_booking('CPB', 'CP_PAST');                                  -- completes
    PERFORM tests.seed_booking('CPC', 'CP_PAST', p_status := 'Cancelled');         -- untouched
    PERFORM tests.seed_booking('CPD', 'CP_PAST', p_attendance := 'No');            -- has attendance: untouched
    PERFORM tests.seed_booking('CPA', 'CP_TODAY');                                 -- today: untouched
    UPDATE hubspot_sync.hubspot_mock_exams e SET total_bookings =
        (SELECT count(*) FROM hubspot_sync.hubspot_bookings b
         WHERE b.associated_mock_exam = e.hubspot_id AND b.is_active = 'Active');
END $$;
SELECT tests.snapshot('before');
CREATE TEMP TABLE ledger_before AS SELECT count(*) AS n FROM hubspot_sync.credit_ledger;
CREATE TEMP TABLE audit_before AS SELECT coalesce(max(id), 0) AS id FROM hubspot_sync.supabase_audit_log;

SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.complete_past_bookings()')$$, '42501', NULL,
                 'anon is refused');
SELECT is(tests.rpc('service_role', 'hubspot_sync.complete_past_bookings()'),
          '{"success": true, "completed": 2, "exams": ["CP_PAST"]}'::jsonb,
          'two past Active bookings without attendance are completed');
SELECT is(ARRAY(SELECT format('%s %s %s', student_id, associated_mock_exam, is_active)
                FROM hubspot_sync.hubspot_bookings ORDER BY student_id, associated_mock_exam),
          ARRAY['CPA CP_PAST Completed', 'CPA CP_TODAY Active', 'CPB CP_PAST Completed',
                'CPC CP_PAST Cancelled', 'CPD CP_PAST Active'],
          'Cancelled, attended and today''s bookings are untouched');
SELECT is(ARRAY(SELECT attendance FROM hubspot_sync.hubspot_bookings WHERE is_active = 'Completed'),
          ARRAY[NULL, NULL]::text[], 'no attendance is invented');
SELECT is(tests.total('CP_PAST'), 1, 'total_bookings recounted to the Active bookings left');
SELECT is((SELECT count(*) FROM hubspot_sync.credit_ledger), (SELECT n FROM ledger_before),
          'ledger-neutral: no ledger row, no credit moved');
SELECT is(ARRAY(SELECT format('%s %s %s', a.performed_by, a.old_values ->> 'is_active', a.new_values ->> 'is_active')
                FROM hubspot_sync.supabase_audit_log a
                WHERE a.id > (SELECT id FROM audit_before) AND a.table_name = 'hubspot_bookings'),
          ARRAY['mockbook:auto-complete Active Completed', 'mockbook:auto-complete Active Completed'],
          'the audit trail says who completed them');
SELECT is(ARRAY(SELECT tests.invariant_violations()), '{}'::text[], 'the invariants hold');
SELECT is(tests.rpc('service_role', 'hubspot_sync.complete_past_bookings(''ops@x'')'),
          '{"success": true, "completed": 0, "exams": []}'::jsonb, 'a second run has nothing to do');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.complete_past_bookings(%L)', repeat('x', 256))),
               '^PT400 INVALID_ARGUMENT', 'an over-long actor is INVALID_ARGUMENT');

SELECT * FROM finish();
ROLLBACK;
