-- admin_create_booking: Admin Override bookings spend no credit, obey every rule but
-- capacity when overridden, and are idempotent apart from create_booking's keys.
BEGIN;
SELECT plan(43);

-- Catalog and privileges ----------------------------------------------------------------------
SELECT volatility_is('hubspot_sync', 'admin_create_booking',
                     ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'boolean'],
                     'volatile', 'admin_create_booking is VOLATILE');
SELECT is_definer('hubspot_sync', 'admin_create_booking',
                    ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'boolean'],
                    'admin_create_booking is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'admin_create_booking',
                          ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'boolean'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}')) AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.admin_create_booking(text,text,text,text,text,text,text,boolean)'),
          0::bigint, 'plpgsql_check: admin_create_booking is clean');
SELECT matches(obj_description('hubspot_sync.admin_create_booking(text,text,text,text,text,text,text,boolean)'::regprocedure, 'pg_proc'),
               'Admin Override', 'admin_create_booking has a comment');

DO $$
DECLARE
    d date := hubspot_sync.business_today() + 7;
BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'AD_SJ', p_capacity := 1, p_exam_date := d);
    PERFORM tests.make_exam(p_hubspot_id := 'AD_SJ2', p_capacity := 5, p_exam_date := d);
    PERFORM tests.make_exam(p_hubspot_id := 'AD_SJ3', p_capacity := 5, p_exam_date := d + 1);
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'AD_CS', p_exam_date := d);
    PERFORM tests.make_exam(p_mock_type := 'Essay', p_hubspot_id := 'AD_XX', p_exam_date := d);
    PERFORM tests.make_exam(p_hubspot_id := 'AD_OFF', p_is_active := 'false', p_exam_date := d + 2);
    PERFORM tests.make_exam(p_hubspot_id := 'AD_PAST', p_exam_date := hubspot_sync.business_today() - 3);
    PERFORM tests.make_exam(p_hubspot_id := 'AD_NEEDS', p_exam_date := d + 3,
                            p_prerequisite_exam_ids := ARRAY['AD_SJ3']);
    PERFORM tests.make_student(p_student_id := 'ADA');               -- no credits at all
    PERFORM tests.make_student(p_student_id := 'ADB');
    PERFORM tests.make_student(p_sj := 3, p_student_id := 'ADC');
END $$;

SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.admin_create_booking(p_student_id := ''ADA'', p_email := ''ada@example.com'', p_mock_exam_id := ''AD_SJ'', p_idempotency_key := ''ka0'', p_actor := ''admin'', p_attending_location := ''calgary'')')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', 'hubspot_sync.admin_create_booking(p_student_id := ''ADA'', p_email := ''ada@example.com'', p_mock_exam_id := ''AD_SJ'', p_idempotency_key := ''ka0'', p_actor := ''admin'', p_attending_location := ''calgary'')')$$,
                 '42501', NULL, 'authenticated is refused');

-- Success without credits --------------------------------------------------------------------
CREATE TEMP TABLE r_ad AS
SELECT tests.rpc('service_role', $$hubspot_sync.admin_create_booking(p_student_id := 'ADA', p_email := 'ada@example.com', p_mock_exam_id := 'AD_SJ', p_idempotency_key := 'ka1', p_actor := 'admin@example.com', p_attending_location := 'calgary')$$) AS r;
SELECT is((SELECT r - 'id' - 'booking_id' - 'exam_date' - 'starts_at' - 'ends_at' - 'time_zone' FROM r_ad),
          '{"success": true, "idempotent_replay": false, "status": "Active", "mock_exam_id": "AD_SJ",
            "mock_type": "Situational Judgment", "student_id": "ADA", "token_used": "Admin Override",
            "credit_field": null, "credits_remaining": null, "total_bookings": 1, "capacity": 1,
            "over_capacity": false}'::jsonb,
          'a student without credits is booked: Admin Override, no credit field');
SELECT matches((SELECT r ->> 'booking_id' FROM r_ad), '^BK-[0-9]{8}-[A-Z0-9]{6}$', 'booking code BK-YYYYMMDD-XXXXXX');
SELECT is(tests.ledger_of('ADA'), '{}'::text[], 'no ledger row');
SELECT is(tests.balance_minus_ledger('ADA'),
          ARRAY['cs_credits 0', 'mock_discussion_token 0', 'shared_mock_credits 0', 'sj_credits 0', 'sjmini_credits 0'],
          'no balance changed');
SELECT is(tests.total('AD_SJ'), 1, 'total_bookings + 1');
SELECT is((SELECT token_used || ' ' || is_active FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'ka1'),
          'Admin Override Active', 'the row says Admin Override');

-- Idempotency ----------------------------------------------------------------------------------
SELECT tests.snapshot('ad');
SELECT is(tests.rpc('service_role', $$hubspot_sync.admin_create_booking(p_student_id := 'ADA', p_email := 'ADA@example.com', p_mock_exam_id := 'AD_SJ', p_idempotency_key := 'ka1', p_actor := 'someone else', p_attending_location := 'calgary')$$),
          (SELECT r || '{"idempotent_replay": true}' FROM r_ad), 'same key and request: replay');
SELECT ok(tests.unchanged_since('ad'), 'the replay changed nothing');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADA'', p_email := ''ada@example.com'', p_mock_exam_id := ''AD_SJ2'', p_idempotency_key := ''ka1'', p_actor := ''admin'', p_attending_location := ''calgary'')')$$,
                 'PT422', 'IDEMPOTENCY_KEY_REUSED', 'same key, other exam: refused');
SELECT is(tests.book('ADC', 'AD_SJ3', 'kc1') ->> 'token_used', 'Situational Judgment Token', 'a create_booking with key kc1');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADC'', p_email := ''adc@example.com'', p_mock_exam_id := ''AD_SJ3'', p_idempotency_key := ''kc1'', p_actor := ''admin'', p_attending_location := ''mississauga'')')$$,
                 'PT422', 'IDEMPOTENCY_KEY_REUSED', 'a create_booking key with the same arguments is not an admin replay');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.create_booking(p_student_id := ''ADA'', p_email := ''ada@example.com'', p_mock_exam_id := ''AD_SJ'', p_idempotency_key := ''ka1'', p_attending_location := ''calgary'')')$$,
                 'PT422', 'IDEMPOTENCY_KEY_REUSED', 'nor is an admin key a create_booking replay');

-- Capacity and the override ------------------------------------------------------------------
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADB'', p_email := ''adb@example.com'', p_mock_exam_id := ''AD_SJ'', p_idempotency_key := ''kb1'', p_actor := ''admin'', p_attending_location := ''calgary'')')$$,
                 'PT409', 'EXAM_FULL', 'capacity is enforced by default');
SELECT is(tests.rpc('service_role', $$hubspot_sync.admin_create_booking(p_student_id := 'ADB', p_email := 'adb@example.com', p_mock_exam_id := 'AD_SJ', p_idempotency_key := 'kb1', p_actor := 'admin', p_attending_location := 'calgary', p_override_capacity := true)$$)
          - ARRAY['id', 'booking_id', 'exam_date', 'student_id', 'success', 'mock_type', 'mock_exam_id', 'token_used', 'credit_field', 'credits_remaining', 'starts_at', 'ends_at', 'time_zone'],
          '{"idempotent_replay": false, "status": "Active", "total_bookings": 2, "capacity": 1, "over_capacity": true}'::jsonb,
          'with p_override_capacity the exam goes over capacity and the result says so');
SELECT is(tests.total('AD_SJ'), 2, 'total_bookings counts the extra seat');
SELECT is_empty('SELECT * FROM tests.invariant_violations()', 'total_bookings = Active bookings');
SELECT is(tests.rpc('service_role', $$hubspot_sync.admin_create_booking(p_student_id := 'ADB', p_email := 'adb@example.com', p_mock_exam_id := 'AD_SJ', p_idempotency_key := 'kb1', p_actor := 'admin', p_attending_location := 'calgary', p_override_capacity := true)$$) ->> 'over_capacity',
          'true', 'a replay reports over_capacity as the exam is now');

-- Every other rule still applies (and changes nothing) ------------------------------------------
SELECT tests.snapshot('rules');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.admin_create_booking(p_student_id := ''ADB'', p_email := ''adb@example.com'', p_mock_exam_id := ''AD_SJ2'', p_idempotency_key := ''kb2'', p_actor := %L, p_attending_location := ''calgary'')', v)),
               '^PT400 INVALID_ARGUMENT: p_actor', format('an actor %s is refused', d))
FROM (VALUES (NULL, 'missing'), ('', 'empty'), (repeat('a', 256), 'of 256 characters')) AS t(v, d);
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADB'', p_email := ''adb@example.com'', p_mock_exam_id := ''AD_SJ2'', p_idempotency_key := ''kb2'', p_actor := ''admin'', p_attending_location := ''calgary'', p_override_capacity := NULL)'),
               '^PT400 INVALID_ARGUMENT: p_override_capacity', 'a NULL override is refused');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''adb'', p_email := ''adb@example.com'', p_mock_exam_id := ''AD_SJ2'', p_idempotency_key := ''kb2'', p_actor := ''admin'')'),
               '^PT400 INVALID_ARGUMENT: p_student_id', 'the student id is validated as in create_booking');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADB'', p_email := ''adb@example.com'', p_mock_exam_id := ''AD_SJ2'', p_idempotency_key := ''kb2'', p_actor := ''admin'', p_attending_location := ''paris'')'),
               '^PT400 INVALID_ARGUMENT: p_attending_location', 'the location is validated');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''NOPE'', p_email := ''nope@example.com'', p_mock_exam_id := ''AD_SJ2'', p_idempotency_key := ''kb2'', p_actor := ''admin'', p_attending_location := ''calgary'')')$$,
                 'PT404', 'CONTACT_NOT_FOUND', 'unknown student');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADB'', p_email := ''adb@example.com'', p_mock_exam_id := ''NOPE'', p_idempotency_key := ''kb2'', p_actor := ''admin'', p_attending_location := ''calgary'')')$$,
                 'PT404', 'EXAM_NOT_FOUND', 'unknown exam');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADB'', p_email := ''adb@example.com'', p_mock_exam_id := ''AD_OFF'', p_idempotency_key := ''kb2'', p_actor := ''admin'', p_attending_location := ''calgary'', p_override_capacity := true)')$$,
                 'PT409', 'EXAM_NOT_ACTIVE', 'an inactive exam, even with the override');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADB'', p_email := ''adb@example.com'', p_mock_exam_id := ''AD_PAST'', p_idempotency_key := ''kb2'', p_actor := ''admin'', p_attending_location := ''calgary'')')$$,
                 'PT409', 'EXAM_IN_PAST', 'a past exam');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADB'', p_email := ''adb@example.com'', p_mock_exam_id := ''AD_CS'', p_idempotency_key := ''kb2'', p_actor := ''admin'')')$$,
                 'PT400', 'INVALID_ARGUMENT', 'Clinical Skills needs a dominant hand');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADB'', p_email := ''adb@example.com'', p_mock_exam_id := ''AD_NEEDS'', p_idempotency_key := ''kb2'', p_actor := ''admin'', p_attending_location := ''calgary'')')$$,
                 'PT422', 'PREREQUISITE_NOT_MET', 'prerequisites apply');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADB'', p_email := ''adb@example.com'', p_mock_exam_id := ''AD_SJ2'', p_idempotency_key := ''kb3'', p_actor := ''admin'', p_attending_location := ''calgary'', p_override_capacity := true)')$$,
                 'PT409', 'DUPLICATE_BOOKING', 'the duplicate rule applies (ADB is booked on AD_SJ that day)');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''ADB'', p_email := ''adb@example.com'', p_mock_exam_id := ''AD_XX'', p_idempotency_key := ''kb4'', p_actor := ''admin'')')$$,
                 'PT400', 'INVALID_EXAM_TYPE', 'an unknown mock type is refused');
SELECT ok(tests.unchanged_since('rules'), 'no refused call changed anything');

-- The booking refunds nothing when cancelled ----------------------------------------------------
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT r ->> 'id' FROM r_ad)))
          - ARRAY['id', 'booking_id', 'success'],
          '{"status": "Cancelled", "credit_field": null, "credits_restored": 0, "credits_remaining": null, "total_bookings": 1}'::jsonb,
          'cancelling an Admin Override booking refunds nothing');
SELECT is(tests.ledger_of('ADA'), '{}'::text[], 'still no ledger row');

SELECT * FROM finish();
ROLLBACK;
