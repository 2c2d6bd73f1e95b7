-- Scheduling rules: set_booking_rule, booking_rule, exam_starts_at,
-- check_booking_rules, and the rules in create_booking and cancel_booking. Every rule is off by
-- default (today's behaviour); each test turns one on inside this transaction. The business time
-- zone is set to a fixed offset where it is about noon now, so "an exam that started an hour ago,
-- today" exists whatever the hour the suite runs at.
BEGIN;
SELECT plan(59);

CREATE TEMP TABLE fns (sig regprocedure, vol text);
INSERT INTO fns VALUES
    ('hubspot_sync.set_booking_rule(text,jsonb,text)', 'v'),
    ('mockbook_internal.booking_rule(text)', 's'),
    ('mockbook_internal.exam_starts_at(date,text)', 's'),
    ('mockbook_internal.check_booking_rules(hubspot_sync.hubspot_mock_exams,text,uuid)', 's');
-- 4 functions x 5 catalog checks
SELECT ok(NOT has_function_privilege('anon', sig, 'EXECUTE') AND NOT has_function_privilege('authenticated', sig, 'EXECUTE')
          AND NOT has_function_privilege('public', sig, 'EXECUTE'),
          format('%s: PUBLIC, anon and authenticated may not execute it', sig)) FROM fns;
SELECT ok(has_function_privilege('service_role', sig, 'EXECUTE') = (sig::text LIKE 'hubspot_sync.%'),
          format('%s: service_role may %s', sig,
                 CASE WHEN sig::text LIKE 'hubspot_sync.%' THEN 'execute it (the API)'
                      ELSE 'not execute it (internal)' END)) FROM fns;
SELECT ok((SELECT proconfig @> ARRAY['search_path=""'] AND prosecdef = (sig::text LIKE 'hubspot_sync.%')
           FROM pg_proc WHERE oid = sig),
          format('%s: search_path pinned, SECURITY DEFINER in the API, INVOKER inside', sig)) FROM fns;
SELECT is((SELECT provolatile::text FROM pg_proc WHERE oid = sig), vol, format('%s: volatility %s', sig, vol)) FROM fns;
SELECT ok(obj_description(sig, 'pg_proc') IS NOT NULL
          AND CASE WHEN (SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.oid = sig) = 'plpgsql'
                   THEN tests.plpgsql_check_count(sig) = 0 ELSE true END,
          format('%s: has a comment, plpgsql_check clean', sig)) FROM fns;

-- Defaults: every rule off -----------------------------------------------------------------------
SELECT is((SELECT jsonb_object_agg(rule, value) FROM hubspot_sync.booking_rules),
          '{"time_conflict": false, "booking_cutoff": false, "allow_booking_after_start": false,
            "min_notice_hours": 0,
            "cancel_deadline_hours": 0, "cancel_deadline_action": "refuse",
            "exam_closed_policy": "refund",
            "max_active_per_type": null, "max_active_per_week": null,
            "offer_hold_minutes": 60, "waitlist_size": null}'::jsonb,
          'the rules table holds every rule, all off by default');
SELECT is(mockbook_internal.booking_rule('no_such_rule'), 'null'::jsonb, 'booking_rule: an absent rule reads as null (off)');

-- set_booking_rule -------------------------------------------------------------------------------
SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.set_booking_rule(''time_conflict'', ''true'', NULL)')$$,
                 '42501', NULL, 'anon may not change a rule');
SELECT is(tests.rpc('service_role', 'hubspot_sync.set_booking_rule(''max_active_per_type'', ''3'', ''admin@x'')'),
          '{"success": true, "rule": "max_active_per_type", "value": 3, "previous_value": null}'::jsonb,
          'service_role sets a rule and gets the previous value');
SELECT is((SELECT format('%s %s', value, updated_by) FROM hubspot_sync.booking_rules WHERE rule = 'max_active_per_type'),
          '3 admin@x', 'the value and the actor are stored');
SELECT is(tests.rpc_error('service_role', $$hubspot_sync.set_booking_rule('no_such_rule', 'true')$$),
          'PT400 INVALID_ARGUMENT: p_rule ''no_such_rule'' is not a scheduling rule (min_notice_hours, booking_cutoff, time_conflict, max_active_per_type, max_active_per_week, allow_booking_after_start, cancel_deadline_hours, cancel_deadline_action, exam_closed_policy, offer_hold_minutes, waitlist_size).',
          'an unknown rule is INVALID_ARGUMENT, listing the rules');
SELECT is(ARRAY(SELECT coalesce(split_part(tests.rpc_error('service_role',
                    format('hubspot_sync.set_booking_rule(%L, %L)', r, v)), ':', 1), 'ok')
                FROM (VALUES ('time_conflict', '1'), ('time_conflict', 'true'), ('min_notice_hours', '-1'),
                             ('min_notice_hours', '1.5'), ('cancel_deadline_action', '"maybe"'),
                             ('cancel_deadline_action', '"no_refund"'), ('max_active_per_week', '0'),
                             ('max_active_per_week', '2.5'), ('max_active_per_week', 'null'),
                             ('offer_hold_minutes', 'null'), ('offer_hold_minutes', '15')) AS t(r, v)),
          ARRAY['PT400 INVALID_ARGUMENT', 'ok', 'PT400 INVALID_ARGUMENT', 'ok', 'PT400 INVALID_ARGUMENT',
                'ok', 'PT400 INVALID_ARGUMENT', 'PT400 INVALID_ARGUMENT', 'ok', 'PT400 INVALID_ARGUMENT', 'ok'],
          'each rule takes only values of its kind (rpc_error undoes the accepted ones)');
SELECT is(ARRAY(SELECT coalesce(split_part(tests.rpc_error('service_role',
                    format('hubspot_sync.set_booking_rule(%L, %L)', r, v)), ':', 1), 'ok')
                FROM (VALUES ('min_notice_hours', '17520'), ('min_notice_hours', '17520.5'),
                             ('cancel_deadline_hours', '17520'), ('cancel_deadline_hours', '1e15'),
                             ('max_active_per_type', '10000'), ('max_active_per_type', '10001'),
                             ('max_active_per_week', '10000'), ('max_active_per_week', '3000000000'),
                             ('offer_hold_minutes', '525600'), ('offer_hold_minutes', '525601'),
                             ('waitlist_size', '10000'), ('waitlist_size', '10001')) AS t(r, v)),
          ARRAY['ok', 'PT400 INVALID_ARGUMENT', 'ok', 'PT400 INVALID_ARGUMENT', 'ok', 'PT400 INVALID_ARGUMENT',
                'ok', 'PT400 INVALID_ARGUMENT', 'ok', 'PT400 INVALID_ARGUMENT', 'ok', 'PT400 INVALID_ARGUMENT'],
          'each rule has a maximum (hours 17520, counts 10000, minutes 525600): the functions that apply it can read it');
SELECT is(tests.rpc_error('service_role', $$hubspot_sync.set_booking_rule('offer_hold_minutes', '525601')$$),
          'PT400 INVALID_ARGUMENT: p_value 525601 does not fit rule offer_hold_minutes (a whole number, 1 to 525600).',
          'the refusal names the range');
SELECT is(mockbook_internal.booking_rule('max_active_per_type'), '3'::jsonb, 'refused values changed nothing');

-- exam_starts_at ---------------------------------------------------------------------------------
SELECT is(mockbook_internal.exam_starts_at('2030-06-01', '09:30'), '2030-06-01 13:30:00+00'::timestamptz,
          'exam_starts_at: day + time in America/Toronto by default (EDT, UTC-4)');
SELECT is(ARRAY[mockbook_internal.exam_starts_at('2030-06-01', NULL), mockbook_internal.exam_starts_at('2030-06-01', 'soon'),
                mockbook_internal.exam_starts_at(NULL, '09:00'), mockbook_internal.exam_starts_at('2030-06-01', '25:00')],
          ARRAY[NULL, NULL, NULL, NULL]::timestamptz[], 'exam_starts_at: a missing or unreadable time is NULL');

-- Fixtures: business time zone at about noon now ------------------------------------------------
DO $$
DECLARE
    v_off integer := 12 - extract(hour FROM now() AT TIME ZONE 'UTC')::integer;  -- local = UTC + v_off
    v_today date;
    v_now time;
BEGIN
    PERFORM set_config('mockbook.business_timezone_in_transaction',
                       CASE WHEN v_off = 0 THEN 'Etc/GMT'
                            WHEN v_off > 0 THEN 'Etc/GMT-' || v_off ELSE 'Etc/GMT+' || -v_off END, true);
    v_today := hubspot_sync.business_today();
    v_now := (now() AT TIME ZONE current_setting('mockbook.business_timezone_in_transaction'))::time;
    PERFORM tests.make_student(p_sj := 10, p_cs := 10, p_student_id := 'RUA');
    PERFORM tests.make_student(p_sj := 10, p_cs := 10, p_student_id := 'RUB');
    -- started an hour ago, today
    PERFORM tests.make_exam(p_hubspot_id := 'RU_STARTED', p_exam_date := v_today);
    UPDATE hubspot_sync.hubspot_mock_exams SET start_time = to_char(v_now - interval '1 hour', 'HH24:MI'),
                                              end_time = to_char(v_now + interval '1 hour', 'HH24:MI')
    WHERE hubspot_id = 'RU_STARTED';
    -- starts in two hours, today
    PERFORM tests.make_exam(p_hubspot_id := 'RU_SOON', p_exam_date := v_today, p_mock_type := 'Clinical Skills');
    UPDATE hubspot_sync.hubspot_mock_exams SET start_time = to_char(v_now + interval '2 hours', 'HH24:MI'),
                                              end_time = to_char(v_now + interval '3 hours', 'HH24:MI')
    WHERE hubspot_id = 'RU_SOON';
    -- day 20: SJ 09:00-12:00 (default), CS 11:00-13:00 (overlaps), CS 12:00-14:00 (touches only)
    PERFORM tests.make_exam(p_hubspot_id := 'RU_SJ20', p_exam_date := v_today + 20);
    PERFORM tests.make_exam(p_hubspot_id := 'RU_CS20', p_exam_date := v_today + 20, p_mock_type := 'Clinical Skills');
    UPDATE hubspot_sync.hubspot_mock_exams SET start_time = '11:00', end_time = '13:00' WHERE hubspot_id = 'RU_CS20';
    PERFORM tests.make_exam(p_hubspot_id := 'RU_CS20B', p_exam_date := v_today + 20, p_mock_type := 'Clinical Skills');
    UPDATE hubspot_sync.hubspot_mock_exams SET start_time = '12:00', end_time = '14:00' WHERE hubspot_id = 'RU_CS20B';
    PERFORM tests.make_exam(p_hubspot_id := 'RU_SJ30', p_exam_date := v_today + 30);
    PERFORM tests.make_exam(p_hubspot_id := 'RU_SJ45', p_exam_date := v_today + 45);
END $$;

-- BOOKING_CLOSED ----------------------------------------------------------------------------------
SELECT matches(tests.rpc_error('service_role', format(
                   'hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_idempotency_key := %L, p_attending_location := %L)',
                   'RUA', 'rua@example.com', 'RU_STARTED', 'ru-started-0', 'mississauga')),
               '^PT409 EXAM_IN_PAST: Exam RU_STARTED started at ',
               'default: an exam that started an hour ago is not bookable (EXAM_IN_PAST)');
SELECT lives_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.set_booking_rule(''allow_booking_after_start'', ''true'')')$$,
                'allow_booking_after_start on');
SELECT is(tests.book('RUA', 'RU_STARTED', 'ru-started-1') ->> 'status', 'Active',
          'allow_booking_after_start: an exam that started an hour ago is bookable');
SELECT lives_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.set_booking_rule(''booking_cutoff'', ''true'')')$$,
                'booking_cutoff on');
SELECT matches(tests.rpc_error('service_role', format(
                   'hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_idempotency_key := %L, p_attending_location := %L)',
                   'RUB', 'rub@example.com', 'RU_STARTED', 'ru-started-2', 'mississauga')),
               '^PT409 BOOKING_CLOSED: Exam RU_STARTED starts at .*; booking closed at the start\.$',
               'cut-off: no booking after the start (BOOKING_CLOSED)');
SELECT is(tests.book('RUB', 'RU_SOON', 'ru-soon-1', p_hand := 'right') ->> 'status', 'Active',
          'cut-off: an exam starting in two hours is still bookable');
SELECT lives_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.set_booking_rule(''min_notice_hours'', ''3'')')$$,
                'min_notice_hours 3');
SELECT matches(tests.rpc_error('service_role', format(
                   'hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_idempotency_key := %L, p_dominant_hand := %L)',
                   'RUA', 'rua@example.com', 'RU_SOON', 'ru-soon-2', 'left')),
               '^PT409 BOOKING_CLOSED: .*3 hour\(s\) before the start\.$',
               'minimum notice: two hours before the start is too late with 3 hours of notice');
UPDATE hubspot_sync.booking_rules SET value = 'false' WHERE rule = 'booking_cutoff';
UPDATE hubspot_sync.booking_rules SET value = '0' WHERE rule = 'min_notice_hours';

-- TIME_CONFLICT -----------------------------------------------------------------------------------
SELECT is(tests.book('RUA', 'RU_SJ20', 'ru-sj20') ->> 'status', 'Active', 'RUA books SJ 09:00-12:00 on day 20');
SELECT is(tests.book('RUB', 'RU_SJ20', 'ru-sj20-b') ->> 'status', 'Active', 'RUB too');
SELECT is(tests.rpc('service_role', format('hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_idempotency_key := %L, p_dominant_hand := %L)',
              'RUB', 'rub@example.com', 'RU_CS20', 'ru-cs20-b', 'left')) ->> 'status', 'Active',
          'default: overlapping sessions of two mock types are allowed (today''s behaviour)');
SELECT lives_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.set_booking_rule(''time_conflict'', ''true'')')$$,
                'time_conflict on');
SELECT matches(tests.rpc_error('service_role', format(
                   'hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_idempotency_key := %L, p_dominant_hand := %L)',
                   'RUA', 'rua@example.com', 'RU_CS20', 'ru-cs20-a', 'left')),
               format('^PT409 TIME_CONFLICT: RUA already holds booking %s \(Situational Judgment, exam RU_SJ20, .* 09:00-12:00\), which overlaps exam RU_CS20 \(11:00-13:00\)\.$',
                      (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'ru-sj20')),
               'TIME_CONFLICT names the other booking');
SELECT is(tests.rpc_error('service_role', format('hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_idempotency_key := %L, p_dominant_hand := %L)',
              'RUA', 'rua@example.com', 'RU_CS20B', 'ru-cs20b-a', 'left')), NULL,
          'a session starting when the other ends does not overlap (booked, then undone)');
SELECT lives_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.cancel_booking(%L)',
                    (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'ru-sj20')))$$,
                'RUA cancels the SJ booking');
SELECT is(tests.rpc('service_role', format('hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_idempotency_key := %L, p_dominant_hand := %L)',
              'RUA', 'rua@example.com', 'RU_CS20', 'ru-cs20-a2', 'left')) ->> 'status', 'Active',
          'a Cancelled booking conflicts with nothing');
UPDATE hubspot_sync.booking_rules SET value = 'false' WHERE rule = 'time_conflict';

-- BOOKING_LIMIT_REACHED -----------------------------------------------------------------------
-- RUA holds Active: RU_STARTED (SJ), RU_CS20 (CS); RUB: RU_SOON, RU_CS20 (CS), RU_SJ20 (SJ)
UPDATE hubspot_sync.booking_rules SET value = '1' WHERE rule = 'max_active_per_type';
SELECT is(tests.rpc_error('service_role', format('hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_idempotency_key := %L, p_attending_location := %L)',
              'RUA', 'rua@example.com', 'RU_SJ30', 'ru-sj30', 'mississauga')),
          'PT422 BOOKING_LIMIT_REACHED: RUA already holds 1 Active Situational Judgment booking(s); the limit is 1 per mock type.',
          'max_active_per_type 1: a second Active SJ booking is refused');
UPDATE hubspot_sync.booking_rules SET value = '2' WHERE rule = 'max_active_per_type';
SELECT is(tests.book('RUA', 'RU_SJ30', 'ru-sj30') ->> 'status', 'Active', 'max_active_per_type 2: the second is allowed');
UPDATE hubspot_sync.booking_rules SET value = 'null' WHERE rule = 'max_active_per_type';
UPDATE hubspot_sync.booking_rules SET value = '1' WHERE rule = 'max_active_per_week';
SELECT is(tests.rpc_error('service_role', format('hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_idempotency_key := %L, p_attending_location := %L)',
              'RUA', 'rua@example.com', 'RU_SJ20', 'ru-sj20-again', 'mississauga')),
          format('PT422 BOOKING_LIMIT_REACHED: RUA already holds 1 Active booking(s) in the week of %s; the limit is 1 per week.',
                 hubspot_sync.business_today() + 20),
          'max_active_per_week 1: a second Active booking in that week is refused');
SELECT is(tests.book('RUA', 'RU_SJ45', 'ru-sj45') ->> 'status', 'Active',
          'max_active_per_week: a week with fewer Active bookings is under the limit');
UPDATE hubspot_sync.booking_rules SET value = 'null' WHERE rule = 'max_active_per_week';

-- Cancellation deadline ---------------------------------------------------------------------------
-- RUB's RU_SOON booking starts in two hours
UPDATE hubspot_sync.booking_rules SET value = '24' WHERE rule = 'cancel_deadline_hours';
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.cancel_booking(%L, p_student_id := %L)',
                   (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'ru-soon-1'), 'RUB')),
               '^PT409 CANCELLATION_CLOSED: Booking .* starts at .*; students may cancel until 24 hour\(s\) before the start\.$',
               'a student''s cancellation 2 hours before the start is refused with a 24-hour deadline');
SELECT is((SELECT is_active FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'ru-soon-1'), 'Active',
          'the refused cancellation changed nothing');
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(%L, p_student_id := %L)',
              (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'ru-cs20-b'), 'RUB')) ->> 'credits_restored',
          '1', 'a cancellation well before the deadline is refunded');
UPDATE hubspot_sync.booking_rules SET value = '"no_refund"' WHERE rule = 'cancel_deadline_action';
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(%L, p_student_id := %L)',
              (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'ru-soon-1'), 'RUB'))
          - 'id' - 'booking_id' - 'total_bookings',
          '{"success": true, "status": "Cancelled", "credit_field": "cs_credits", "credits_restored": 0, "credits_remaining": 9}'::jsonb,
          'no_refund: the late cancellation goes through without a refund');
SELECT is((SELECT count(*) FROM hubspot_sync.credit_ledger l JOIN hubspot_sync.hubspot_bookings b ON b.id = l.booking_id
           WHERE b.idempotency_key = 'ru-soon-1' AND l.reason = 'cancellation'), 0::bigint,
          'no_refund: no refund ledger row');
UPDATE hubspot_sync.booking_rules SET value = '"refuse"' WHERE rule = 'cancel_deadline_action';
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(%L)',
              (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'ru-started-1'))) ->> 'credits_restored',
          '1', 'an admin call (no p_student_id) overrides the deadline and refunds');

SELECT is(ARRAY(SELECT tests.invariant_violations()), '{}'::text[], 'the invariants hold');

SELECT * FROM finish();
ROLLBACK;
