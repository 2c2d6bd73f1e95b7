-- rebook: an Active booking moves to another open exam of the same mock type in one
-- transaction: old booking Cancelled, new booking Active, credit moves with it (no balance
-- change, a net-zero pair of rebook ledger rows), both totals follow; idempotent per key.
BEGIN;
SELECT plan(47);

-- Catalog and privileges ----------------------------------------------------------------------
SELECT volatility_is('hubspot_sync', 'rebook', ARRAY['text', 'text', 'text', 'text'], 'volatile',
                     'rebook is VOLATILE');
SELECT is_definer('hubspot_sync', 'rebook', ARRAY['text', 'text', 'text', 'text'], 'rebook is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'rebook', ARRAY['text', 'text', 'text', 'text'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}')) AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.rebook(text,text,text,text)'), 0::bigint,
          'plpgsql_check: rebook is clean');
SELECT matches(obj_description('hubspot_sync.rebook(text,text,text,text)'::regprocedure, 'pg_proc'),
               'REBOOK_NOT_ALLOWED', 'rebook has a comment');

DO $$
DECLARE
    d date := hubspot_sync.business_today() + 7;
BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'RB_1', p_exam_date := d, p_mock_set := 'A');
    PERFORM tests.make_exam(p_hubspot_id := 'RB_2', p_exam_date := d, p_mock_set := 'B');
    PERFORM tests.make_exam(p_hubspot_id := 'RB_3', p_exam_date := d + 1);
    PERFORM tests.make_exam(p_hubspot_id := 'RB_4', p_exam_date := d + 2);
    PERFORM tests.make_exam(p_hubspot_id := 'RB_FULL', p_capacity := 0, p_exam_date := d + 3);
    PERFORM tests.make_exam(p_hubspot_id := 'RB_OFF', p_is_active := 'false', p_exam_date := d + 3);
    PERFORM tests.make_exam(p_hubspot_id := 'RB_PAST', p_exam_date := hubspot_sync.business_today() - 1);
    PERFORM tests.make_exam(p_hubspot_id := 'RB_NEEDS', p_exam_date := d + 4,
                            p_prerequisite_exam_ids := ARRAY['RB_PRE']);
    PERFORM tests.make_exam(p_hubspot_id := 'RB_PRE', p_exam_date := d + 9);
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'RB_CS', p_exam_date := d + 5);
    PERFORM tests.make_student(p_shared := 2, p_student_id := 'RBS');
    PERFORM tests.make_student(p_sj := 5, p_student_id := 'RBT');
END $$;

-- RBS books RB_1 with a shared credit (its only kind), RBT books RB_3 and RB_4
CREATE TEMP TABLE r_b AS SELECT tests.book('RBS', 'RB_1', 'rb-k0', 'montreal') AS r;
SELECT is((SELECT r ->> 'token_used' FROM r_b), 'Shared Token', 'the booking to move was paid with a shared credit');
DO $$ BEGIN
    PERFORM tests.book('RBT', 'RB_3', 'rb-t1');
    PERFORM tests.book('RBT', 'RB_4', 'rb-t2');
END $$;

SELECT throws_ok(format($f$SELECT tests.rpc('anon', 'hubspot_sync.rebook(p_booking_id := ''%s'', p_new_mock_exam_id := ''RB_2'', p_idempotency_key := ''rb-k1'')')$f$,
                        (SELECT r ->> 'id' FROM r_b)), '42501', NULL, 'anon is refused');
SELECT throws_ok(format($f$SELECT tests.rpc('authenticated', 'hubspot_sync.rebook(p_booking_id := ''%s'', p_new_mock_exam_id := ''RB_2'', p_idempotency_key := ''rb-k1'')')$f$,
                        (SELECT r ->> 'id' FROM r_b)), '42501', NULL, 'authenticated is refused');

-- Success: same day, the moved booking does not count against itself ---------------------------
CREATE TEMP TABLE r_rb AS
SELECT tests.rpc('service_role', format('hubspot_sync.rebook(p_booking_id := %L, p_new_mock_exam_id := ''RB_2'', p_idempotency_key := ''rb-k1'', p_actor := ''desk@example.com'')',
                                        (SELECT r ->> 'booking_id' FROM r_b))) AS r;
SELECT is((SELECT r - ARRAY['id', 'booking_id', 'exam_date', 'rebooked_from', 'starts_at', 'ends_at', 'time_zone'] FROM r_rb),
          '{"success": true, "idempotent_replay": false, "status": "Active", "mock_exam_id": "RB_2",
            "mock_type": "Situational Judgment", "student_id": "RBS", "token_used": "Shared Token",
            "credit_field": "shared_mock_credits", "credits_remaining": 1, "total_bookings": 1,
            "capacity": 10, "previous_exam_total_bookings": 0}'::jsonb,
          'rebooked onto an exam the same day (by booking code): the credit moved with its token');
SELECT is((SELECT r -> 'rebooked_from' FROM r_rb),
          (SELECT jsonb_build_object('id', r -> 'id', 'booking_id', r -> 'booking_id', 'mock_exam_id', 'RB_1',
                                     'status', 'Cancelled') FROM r_b),
          'rebooked_from names the old booking, now Cancelled');
SELECT isnt((SELECT r ->> 'booking_id' FROM r_rb), (SELECT r ->> 'booking_id' FROM r_b),
            'the new booking has its own code');
SELECT matches((SELECT r ->> 'booking_id' FROM r_rb), '^BK-[0-9]{8}-[A-Z0-9]{6}$', 'of the form BK-YYYYMMDD-XXXXXX');
SELECT results_eq(
    $$SELECT is_active, token_refunded, associated_mock_exam FROM hubspot_sync.hubspot_bookings
      WHERE id = (SELECT (r ->> 'id')::uuid FROM r_b)$$,
    $$VALUES ('Cancelled', false, 'RB_1')$$, 'the old booking is Cancelled, not refunded');
SELECT results_eq(
    $$SELECT b.is_active, b.attending_location, b.name, b.student_email, b.associated_contact_id, b.mock_set::text,
             b.token_used, b.idempotency_key, b.hubspot_id
      FROM hubspot_sync.hubspot_bookings b WHERE b.id = (SELECT (r ->> 'id')::uuid FROM r_rb)$$,
    $$VALUES ('Active', 'montreal', 'FirstRBS LastRBS', 'rbs@example.com', 'CRBS', 'B', 'Shared Token', 'rb-k1', NULL::text)$$,
    'the new booking keeps student, location and token; takes the new exam''s mock set and the rebook key');
SELECT is(ARRAY[tests.total('RB_1'), tests.total('RB_2')], ARRAY[0, 1], 'total_bookings: old exam - 1, new exam + 1');
SELECT is(tests.balance('RBS', 'shared_mock_credits'), 1, 'no balance changed by the move');
SELECT is(tests.ledger_of('RBS'),
          ARRAY['shared_mock_credits -1 1 booking', 'shared_mock_credits 1 2 rebook',
                'shared_mock_credits -1 1 rebook'],
          'the ledger shows the credit moving: +1 on the old booking, -1 on the new (net zero)');
SELECT is((SELECT booking_id FROM hubspot_sync.credit_ledger
           WHERE student_id = 'RBS' AND reason = 'rebook' AND delta = -1),
          (SELECT (r ->> 'id')::uuid FROM r_rb), 'the -1 row names the new booking');

-- Idempotency ----------------------------------------------------------------------------------
SELECT tests.snapshot('rb');
SELECT is(tests.rpc('service_role', format('hubspot_sync.rebook(p_booking_id := %L, p_new_mock_exam_id := ''RB_2'', p_idempotency_key := ''rb-k1'')',
                                           (SELECT r ->> 'booking_id' FROM r_b))),
          (SELECT r || '{"idempotent_replay": true}' FROM r_rb), 'the same key and request replays the same result');
SELECT ok(tests.unchanged_since('rb'), 'the replay changed nothing');
SELECT throws_ok(format($f$SELECT tests.rpc('service_role', 'hubspot_sync.rebook(p_booking_id := ''%s'', p_new_mock_exam_id := ''RB_3'', p_idempotency_key := ''rb-k1'')')$f$,
                        (SELECT r ->> 'booking_id' FROM r_b)), 'PT422', 'IDEMPOTENCY_KEY_REUSED', 'the same key for another exam is refused');
SELECT throws_ok(format($f$SELECT tests.rpc('service_role', 'hubspot_sync.rebook(p_booking_id := ''%s'', p_new_mock_exam_id := ''RB_2'', p_idempotency_key := ''rb-k0'')')$f$,
                        (SELECT r ->> 'booking_id' FROM r_b)), 'PT422', 'IDEMPOTENCY_KEY_REUSED', 'a create_booking key cannot be a rebook key');

-- Refused moves change nothing -------------------------------------------------------------------
SELECT tests.snapshot('refused');
SELECT throws_ok(format($f$SELECT tests.rpc('service_role', 'hubspot_sync.rebook(p_booking_id := ''%s'', p_new_mock_exam_id := ''RB_3'', p_idempotency_key := ''rb-k2'')')$f$,
                        (SELECT r ->> 'id' FROM r_b)), 'PT422', 'REBOOK_NOT_ALLOWED', 'a Cancelled booking cannot move');
SELECT throws_ok(format($f$SELECT tests.rpc('service_role', 'hubspot_sync.rebook(p_booking_id := ''%s'', p_new_mock_exam_id := ''NOPE'', p_idempotency_key := ''rb-k2'')')$f$,
                        (SELECT r ->> 'id' FROM r_b)), 'PT422', 'REBOOK_NOT_ALLOWED', 'the booking''s status is checked before the exam');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.rebook(p_booking_id := ''BK-NOPE'', p_new_mock_exam_id := ''RB_3'', p_idempotency_key := ''rb-k3'')')$$,
                 'PT404', 'BOOKING_NOT_FOUND', 'an unknown booking');
SELECT throws_ok(format($f$SELECT tests.rpc('service_role', 'hubspot_sync.rebook(p_booking_id := ''%s'', p_new_mock_exam_id := ''NOPE'', p_idempotency_key := ''rb-k4'')')$f$,
                        (SELECT r ->> 'id' FROM r_rb)), 'PT404', 'EXAM_NOT_FOUND', 'an unknown exam');
SELECT throws_ok(format($f$SELECT tests.rpc('service_role', 'hubspot_sync.rebook(p_booking_id := ''%s'', p_new_mock_exam_id := ''RB_2'', p_idempotency_key := ''rb-k5'')')$f$,
                        (SELECT r ->> 'id' FROM r_rb)), 'PT422', 'REBOOK_NOT_ALLOWED', 'onto the same exam');
SELECT throws_ok(format($f$SELECT tests.rpc('service_role', 'hubspot_sync.rebook(p_booking_id := ''%s'', p_new_mock_exam_id := ''RB_CS'', p_idempotency_key := ''rb-k6'')')$f$,
                        (SELECT r ->> 'id' FROM r_rb)), 'PT422', 'REBOOK_NOT_ALLOWED', 'onto another mock type');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.rebook(p_booking_id := %L, p_new_mock_exam_id := ''RB_OFF'', p_idempotency_key := ''rb-k7'')', (SELECT r ->> 'id' FROM r_rb))),
               '^PT422 REBOOK_NOT_ALLOWED: .*EXAM_NOT_ACTIVE', 'onto an inactive exam: REBOOK_NOT_ALLOWED saying why');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.rebook(p_booking_id := %L, p_new_mock_exam_id := ''RB_PAST'', p_idempotency_key := ''rb-k8'')', (SELECT r ->> 'id' FROM r_rb))),
               '^PT422 REBOOK_NOT_ALLOWED: .*EXAM_IN_PAST', 'onto a past exam: REBOOK_NOT_ALLOWED saying why');
SELECT throws_ok(format($f$SELECT tests.rpc('service_role', 'hubspot_sync.rebook(p_booking_id := ''%s'', p_new_mock_exam_id := ''RB_FULL'', p_idempotency_key := ''rb-k9'')')$f$,
                        (SELECT r ->> 'id' FROM r_rb)), 'PT409', 'EXAM_FULL', 'onto a full exam: EXAM_FULL');
SELECT throws_ok(format($f$SELECT tests.rpc('service_role', 'hubspot_sync.rebook(p_booking_id := ''%s'', p_new_mock_exam_id := ''RB_NEEDS'', p_idempotency_key := ''rb-k10'')')$f$,
                        (SELECT r ->> 'id' FROM r_rb)), 'PT422', 'PREREQUISITE_NOT_MET', 'prerequisites of the new exam apply');
SELECT throws_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.rebook(p_booking_id := %L, p_new_mock_exam_id := ''RB_4'', p_idempotency_key := ''rb-k11'')',
                                                           (SELECT id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'rb-t1')))$$,
                 'PT409', 'DUPLICATE_BOOKING', 'onto a day the student already has another booking of that type');
UPDATE hubspot_sync.hubspot_bookings SET is_active = 'Completed', attendance = 'Yes' WHERE idempotency_key = 'rb-t2';
UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = 0 WHERE hubspot_id = 'RB_4';
SELECT tests.snapshot('refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.rebook(p_booking_id := %L, p_new_mock_exam_id := ''RB_1'', p_idempotency_key := ''rb-k12'')',
                                                           (SELECT id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'rb-t2')))$$,
                 'PT422', 'REBOOK_NOT_ALLOWED', 'a Completed booking cannot move');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.rebook(p_booking_id := %L, p_new_mock_exam_id := %L, p_idempotency_key := %L, p_actor := %L)', b, e, k, a)),
               '^PT400 INVALID_ARGUMENT: ' || f, format('%s is refused', d))
FROM (VALUES ('x', 'RB_1', '', NULL, 'p_idempotency_key', 'an empty key'),
             ('x', 'RB_1', repeat('k', 256), NULL, 'p_idempotency_key', 'a key of 256 characters'),
             (NULL, 'RB_1', 'k', NULL, 'p_booking_id', 'a NULL booking'),
             ('x', NULL, 'k', NULL, 'p_new_mock_exam_id', 'a NULL exam'),
             ('x', 'RB_1', 'k', repeat('a', 256), 'p_actor', 'an actor of 256 characters')) AS t(b, e, k, a, f, d);
SELECT ok(tests.unchanged_since('refused'), 'no refused rebook changed anything');

-- Moving by HubSpot id, and the credit follows to the refund -------------------------------------
UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = 'HS-RB-1' WHERE id = (SELECT (r ->> 'id')::uuid FROM r_rb);
SELECT is(tests.rpc('service_role', 'hubspot_sync.rebook(p_booking_id := ''HS-RB-1'', p_new_mock_exam_id := ''RB_3'', p_idempotency_key := ''rb-k13'')')
          ->> 'mock_exam_id', 'RB_3', 'a booking named by its HubSpot id moves (to another day)');
SELECT is(ARRAY[tests.total('RB_1'), tests.total('RB_2'), tests.total('RB_3')], ARRAY[0, 0, 2], 'the counts follow');
SELECT is(tests.rpc('service_role', 'hubspot_sync.cancel_booking(p_booking_id := (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = ''rb-k13''))')
          ->> 'credit_field', 'shared_mock_credits', 'cancelling the moved booking refunds the field it was paid with');
SELECT is(tests.balance('RBS', 'shared_mock_credits'), 2, 'so the student has both shared credits back');
SELECT is_empty('SELECT * FROM tests.invariant_violations()', 'total_bookings = Active bookings everywhere');

SELECT * FROM finish();
ROLLBACK;
