-- list_contact_bookings: a student's bookings, newest exam first, optionally by status.
BEGIN;
SELECT plan(21);

SELECT volatility_is('hubspot_sync', 'list_contact_bookings', ARRAY['text', 'text'], 'stable',
                     'list_contact_bookings is STABLE');
SELECT is_definer('hubspot_sync', 'list_contact_bookings', ARRAY['text', 'text'],
                    'list_contact_bookings is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'list_contact_bookings', ARRAY['text', 'text'], r, p,
                          format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.list_contact_bookings(text, text)'), 0::bigint,
          'plpgsql_check: list_contact_bookings is clean');
SELECT ok((SELECT proretset FROM pg_proc
           WHERE oid = 'hubspot_sync.list_contact_bookings(text, text)'::regprocedure),
          'list_contact_bookings returns SETOF');
SELECT isnt(obj_description('hubspot_sync.list_contact_bookings(text, text)'::regprocedure, 'pg_proc'),
            NULL, 'list_contact_bookings has a comment');

DO $$
DECLARE
    d date := hubspot_sync.business_today();
BEGIN
    PERFORM tests.make_student(p_student_id := 'LCB1');
    PERFORM tests.make_student(p_student_id := 'LCB2');
    PERFORM tests.make_exam(p_hubspot_id := 'EXLCB1', p_exam_date := d + 1);
    PERFORM tests.make_exam(p_hubspot_id := 'EXLCB2', p_exam_date := d + 2, p_location := 'calgary');
    PERFORM tests.make_exam(p_hubspot_id := 'EXLCB3', p_exam_date := d + 3);
    PERFORM tests.make_exam(p_hubspot_id := 'EXLCB4', p_exam_date := d - 5);
    PERFORM tests.seed_booking('LCB1', 'EXLCB1', p_hubspot_id := 'HBLCB1', p_idempotency_key := 'k-lcb');
    PERFORM tests.seed_booking('LCB1', 'EXLCB2', p_status := 'Cancelled');
    PERFORM tests.seed_booking('LCB1', 'EXLCB3', p_status := 'Failed');
    PERFORM tests.seed_booking('LCB1', 'EXLCB4', p_status := 'Completed', p_attendance := 'No');
    PERFORM tests.seed_booking('LCB2', 'EXLCB1');
END $$;

SELECT throws_ok($$SELECT tests.rpc_rows('anon', 'hubspot_sync.list_contact_bookings(p_student_id := ''LCB1'')')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc_rows('authenticated', 'hubspot_sync.list_contact_bookings(p_student_id := ''LCB1'')')$$,
                 '42501', NULL, 'authenticated is refused');

SELECT is(tests.rpc_rows('service_role', $$(SELECT mock_exam_id, is_active, attendance
    FROM hubspot_sync.list_contact_bookings(p_student_id := 'LCB1'))$$),
    '[{"mock_exam_id": "EXLCB3", "is_active": "Failed", "attendance": null},
      {"mock_exam_id": "EXLCB2", "is_active": "Cancelled", "attendance": null},
      {"mock_exam_id": "EXLCB1", "is_active": "Active", "attendance": null},
      {"mock_exam_id": "EXLCB4", "is_active": "Completed", "attendance": "No"}]'::jsonb,
    'a GET lists every booking of the student (not others''), newest exam first');
SELECT is((SELECT r - 'id' - 'created_at' - 'updated_at' - 'booking_id'
           FROM jsonb_array_elements(tests.rpc_rows('service_role',
               'hubspot_sync.list_contact_bookings(p_student_id := ''LCB1'', p_status := ''Active'')')) AS r),
          jsonb_build_object('hubspot_id', 'HBLCB1', 'mock_exam_id', 'EXLCB1',
              'mock_exam_name', 'Situational Judgment EXLCB1', 'student_id', 'LCB1',
              'name', 'FirstLCB1 LastLCB1', 'student_email', 'lcb1@example.com',
              'is_active', 'Active', 'attendance', NULL, 'mock_type', 'Situational Judgment',
              'mock_set', 'A', 'exam_date', hubspot_sync.business_today() + 1,
              'start_time', '09:00', 'end_time', '12:00', 'location', 'mississauga',
              'attending_location', 'mississauga', 'dominant_hand', NULL,
              'token_used', 'Situational Judgment Token', 'token_refunded', false,
              'token_refunded_at', NULL, 'waitlist_id', NULL, 'waitlist_position', NULL,
              'offer_expires_at', NULL,
              'starts_at', ((hubspot_sync.business_today() + 1) + time '09:00')
                           AT TIME ZONE 'America/Toronto',
              'ends_at', ((hubspot_sync.business_today() + 1) + time '12:00')
                         AT TIME ZONE 'America/Toronto',
              'time_zone', 'America/Toronto'),
          'p_status filters; a row carries the booking, its exam''s name, location and instants, '
          'and no idempotency key');
SELECT is(tests.rpc_rows('service_role', $$(SELECT is_active
    FROM hubspot_sync.list_contact_bookings(p_student_id := 'LCB1', p_status := 'cancelled'))$$),
    '[{"is_active": "Cancelled"}]'::jsonb, 'p_status is case-insensitive');
SELECT is(tests.rpc_rows('service_role', $$(SELECT is_active
    FROM hubspot_sync.list_contact_bookings(p_student_id := 'LCB1', p_status := 'Completed'))$$),
    '[{"is_active": "Completed"}]'::jsonb, 'Completed bookings can be listed alone');
SELECT is(tests.rpc_rows('service_role', $$(SELECT is_active
    FROM hubspot_sync.list_contact_bookings(p_student_id := 'LCB1', p_status := 'Failed'))$$),
    '[{"is_active": "Failed"}]'::jsonb, 'Failed bookings can be listed alone');
-- the waitlist: LCB2 waits for EXLCB2 and holds an offer for EXLCB3
INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id, attending_location)
SELECT 'EXLCB2', student_id, id, 'calgary' FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'LCB2';
INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id, status, offered_at, offer_expires_at)
SELECT 'EXLCB3', student_id, id, 'offered', now(), now() + interval '1 hour' FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'LCB2';
SELECT is(tests.rpc_rows('service_role', $$(SELECT mock_exam_id, is_active, booking_id, waitlist_position,
                                                   offer_expires_at IS NOT NULL AS held, location
    FROM hubspot_sync.list_contact_bookings(p_student_id := 'LCB2'))$$),
    '[{"mock_exam_id": "EXLCB3", "is_active": "Offered", "booking_id": null, "waitlist_position": null, "held": true, "location": "mississauga"},
      {"mock_exam_id": "EXLCB2", "is_active": "Waitlisted", "booking_id": null, "waitlist_position": 1, "held": false, "location": "calgary"},
      {"mock_exam_id": "EXLCB1", "is_active": "Active", "booking_id": null, "waitlist_position": null, "held": false, "location": "mississauga"}]'::jsonb
    - 2 || jsonb_build_array((SELECT jsonb_build_object('mock_exam_id', 'EXLCB1', 'is_active', 'Active', 'booking_id', booking_id,
                                     'waitlist_position', NULL, 'held', false, 'location', 'mississauga')
                              FROM hubspot_sync.hubspot_bookings WHERE student_id = 'LCB2')),
    'open waitlist places are rows too: Offered (held until offer_expires_at) and Waitlisted (with its position)');
SELECT is(tests.rpc_rows('service_role', $$(SELECT mock_exam_id
    FROM hubspot_sync.list_contact_bookings(p_student_id := 'LCB2', p_status := 'waitlisted'))$$),
    '[{"mock_exam_id": "EXLCB2"}]'::jsonb, 'p_status Waitlisted lists the waiting places');
SELECT is(tests.rpc_rows('service_role', 'hubspot_sync.list_contact_bookings(p_student_id := ''NOBODY'')'),
          '[]'::jsonb, 'a student without bookings gets no rows');
SELECT throws_ok($$SELECT tests.rpc_rows('service_role', 'hubspot_sync.list_contact_bookings(p_student_id := ''LCB1'', p_status := ''Deleted'')')$$,
                 'PT400', 'INVALID_ARGUMENT', 'an unknown status is INVALID_ARGUMENT');
SELECT throws_ok($$SELECT tests.rpc_rows('service_role', 'hubspot_sync.list_contact_bookings(p_student_id := NULL)')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a missing student id is INVALID_ARGUMENT');
SELECT throws_ok(format('SELECT tests.rpc_rows(%L, %L)', 'service_role',
                        format('hubspot_sync.list_contact_bookings(p_student_id := %L)', repeat('A', 65))),
                 'PT400', 'INVALID_ARGUMENT', 'an over-long student id is INVALID_ARGUMENT');

SELECT * FROM finish();
ROLLBACK;
