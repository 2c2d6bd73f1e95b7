-- list_available_exams: the bookable exams (exam_unbookable_reason() IS NULL) with their
-- remaining seats, filtered and ordered; full exams are listed with 0 seats.
BEGIN;
SELECT plan(20);

SELECT volatility_is('hubspot_sync', 'list_available_exams', ARRAY['text', 'text', 'date', 'date', 'text', 'boolean'],
                     'stable', 'list_available_exams is STABLE');
SELECT is_definer('hubspot_sync', 'list_available_exams', ARRAY['text', 'text', 'date', 'date', 'text', 'boolean'],
                    'list_available_exams is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'list_available_exams', ARRAY['text', 'text', 'date', 'date', 'text', 'boolean'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.list_available_exams(text, text, date, date, text, boolean)'),
          0::bigint, 'plpgsql_check: list_available_exams is clean');
SELECT ok((SELECT proretset FROM pg_proc
           WHERE oid = 'hubspot_sync.list_available_exams(text, text, date, date, text, boolean)'::regprocedure),
          'list_available_exams returns SETOF');
SELECT isnt(obj_description('hubspot_sync.list_available_exams(text, text, date, date, text, boolean)'::regprocedure,
                            'pg_proc'), NULL, 'list_available_exams has a comment');

SELECT tests.isolate();  -- other tests of the run may have committed exams
-- 06:00 today, business time zone: today's exam (09:00-12:00) has not started, whatever the hour
-- the suite runs at
DO $$ BEGIN PERFORM tests.set_local_time('06:00'); END $$;
-- Fixtures: d = today in the business time zone.
DO $$
DECLARE
    d date := hubspot_sync.business_today();
BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'EXLA1', p_exam_date := d + 3, p_capacity := 3);
    PERFORM tests.make_exam(p_hubspot_id := 'EXLA2', p_exam_date := d + 3, p_capacity := 1);
    UPDATE hubspot_sync.hubspot_mock_exams SET start_time = '08:00' WHERE hubspot_id = 'EXLA2';
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'EXLA3',
                            p_exam_date := d + 10, p_location := 'calgary');
    PERFORM tests.make_exam(p_hubspot_id := 'EXLA4', p_exam_date := d + 1, p_is_active := 'false');
    PERFORM tests.make_exam(p_hubspot_id := 'EXLA5', p_exam_date := d - 1);
    PERFORM tests.make_exam(p_hubspot_id := 'EXLA6', p_exam_date := d + 5, p_is_active := 'scheduled',
                            p_scheduled_activation_datetime := mockbook_internal.clock_now() - interval '1 hour');
    PERFORM tests.make_exam(p_hubspot_id := 'EXLA7', p_exam_date := d + 5, p_is_active := 'scheduled',
                            p_scheduled_activation_datetime := mockbook_internal.clock_now() + interval '1 hour');
    PERFORM tests.make_exam(p_hubspot_id := 'EXLA8', p_exam_date := d, p_is_active := 'Active',
                            p_mock_type := 'Mini-mock', p_capacity := 1);
    PERFORM tests.make_student(p_student_id := 'LA' || i) FROM generate_series(1, 4) AS i;
    PERFORM tests.seed_booking('LA1', 'EXLA1');
    PERFORM tests.seed_booking('LA2', 'EXLA1', p_status := 'Cancelled');
    PERFORM tests.seed_booking('LA2', 'EXLA2');
    -- an admin override may have booked EXLA8 beyond its capacity
    PERFORM tests.seed_booking('LA3', 'EXLA8');
    PERFORM tests.seed_booking('LA4', 'EXLA8');
END $$;

SELECT throws_ok($$SELECT tests.rpc_rows('anon', 'hubspot_sync.list_available_exams()')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc_rows('authenticated', 'hubspot_sync.list_available_exams()')$$,
                 '42501', NULL, 'authenticated is refused');

-- tests.rpc_rows runs a read-only GET; the subquery keeps only this file's exams.
SELECT is(tests.rpc_rows('service_role', $$(SELECT mock_exam_id, remaining_seats, is_full
    FROM hubspot_sync.list_available_exams() WHERE mock_exam_id LIKE 'EXLA%')$$),
    '[{"mock_exam_id": "EXLA8", "remaining_seats": 0, "is_full": true},
      {"mock_exam_id": "EXLA2", "remaining_seats": 0, "is_full": true},
      {"mock_exam_id": "EXLA1", "remaining_seats": 2, "is_full": false},
      {"mock_exam_id": "EXLA6", "remaining_seats": 10, "is_full": false},
      {"mock_exam_id": "EXLA3", "remaining_seats": 10, "is_full": false}]'::jsonb,
    'bookable exams only (not inactive, past or not-yet-activated), by date then time, '
    'full and overbooked exams with 0 seats');
SELECT is((SELECT r FROM jsonb_array_elements(tests.rpc_rows('service_role',
              'hubspot_sync.list_available_exams()')) AS r WHERE r ->> 'mock_exam_id' = 'EXLA1')
          - 'id',
          jsonb_build_object('mock_exam_id', 'EXLA1', 'mock_exam_name', 'Situational Judgment EXLA1',
              'mock_type', 'Situational Judgment', 'exam_date', hubspot_sync.business_today() + 3,
              'start_time', '09:00', 'end_time', '12:00', 'location', 'mississauga',
              'mock_set', 'A', 'prerequisite_exam_ids', '[]'::jsonb, 'capacity', 3,
              'total_bookings', 1, 'remaining_seats', 2, 'is_full', false, 'held_seats', 0,
              'waiting', 0,
              'starts_at', to_jsonb(((hubspot_sync.business_today() + 3) + time '09:00')
                                    AT TIME ZONE mockbook_internal.business_timezone()),
              'ends_at', to_jsonb(((hubspot_sync.business_today() + 3) + time '12:00')
                                  AT TIME ZONE mockbook_internal.business_timezone()),
              'time_zone', mockbook_internal.business_timezone(), 'reason', NULL),
          'a row carries the exam''s fields, capacity, total_bookings and remaining_seats');
-- the waitlist: EXLA1 gets one held offer and one waiting student (the offer's hour counted
-- from the test's clock, 06:00 today, not from the real hour the suite runs at)
INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id, status, offered_at, offer_expires_at)
SELECT 'EXLA1', student_id, id, 'offered', mockbook_internal.clock_now(),
       mockbook_internal.clock_now() + interval '1 hour'
FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'LA3';
INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id)
SELECT 'EXLA1', student_id, id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'LA4';
SELECT is(tests.rpc_rows('service_role', $$(SELECT mock_exam_id, remaining_seats, is_full, held_seats, waiting
    FROM hubspot_sync.list_available_exams() WHERE mock_exam_id = 'EXLA1')$$),
    '[{"mock_exam_id": "EXLA1", "remaining_seats": 1, "is_full": false, "held_seats": 1, "waiting": 1}]'::jsonb,
    'a seat held by a waitlist offer is not remaining; held_seats and waiting show the waitlist');
SELECT is(tests.rpc_rows('service_role', $$(SELECT mock_exam_id
    FROM hubspot_sync.list_available_exams(p_mock_type := 'clinical skills'))$$),
    '[{"mock_exam_id": "EXLA3"}]'::jsonb, 'p_mock_type filters, case-insensitively');
SELECT is(tests.rpc_rows('service_role', $$(SELECT mock_exam_id
    FROM hubspot_sync.list_available_exams(p_location := 'Calgary'))$$),
    '[{"mock_exam_id": "EXLA3"}]'::jsonb, 'p_location filters, case-insensitively');
SELECT is(tests.rpc_rows('service_role', format($$(SELECT mock_exam_id
    FROM hubspot_sync.list_available_exams(p_from := %L, p_to := %L))$$,
    hubspot_sync.business_today() + 3, hubspot_sync.business_today() + 5)),
    '[{"mock_exam_id": "EXLA2"}, {"mock_exam_id": "EXLA1"}, {"mock_exam_id": "EXLA6"}]'::jsonb,
    'p_from and p_to bound the exam date, inclusive');
SELECT is(tests.rpc_rows('service_role', format($$(SELECT mock_exam_id
    FROM hubspot_sync.list_available_exams(p_mock_type := 'Situational Judgment',
         p_location := 'mississauga', p_from := %L) WHERE remaining_seats > 0)$$,
    hubspot_sync.business_today() + 4)),
    '[{"mock_exam_id": "EXLA6"}]'::jsonb, 'filters combine; remaining_seats can be filtered on');
SELECT is(tests.rpc_rows('service_role', $$(SELECT mock_exam_id
    FROM hubspot_sync.list_available_exams(p_mock_type := 'Nope'))$$),
    '[]'::jsonb, 'an unknown mock type lists nothing');
SELECT is(tests.rpc_rows('service_role', $$(SELECT mock_exam_id
    FROM hubspot_sync.list_available_exams(p_from := '2000-01-01', p_to := '2000-01-01'))$$),
    '[]'::jsonb, 'a date range with no bookable exam lists nothing');
SELECT throws_ok($$SELECT tests.rpc_rows('service_role', 'hubspot_sync.list_available_exams(p_from := ''2030-01-02'', p_to := ''2030-01-01'')')$$,
                 'PT400', 'INVALID_ARGUMENT', 'p_from after p_to is INVALID_ARGUMENT');

SELECT * FROM finish();
ROLLBACK;
