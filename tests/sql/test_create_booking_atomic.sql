-- create_booking_atomic (deprecated production call): the caller's absolute balance is compared
-- with the true balance - 1 under the contact lock, never written: the credit is spent
-- relatively and a difference is noted on the ledger row.
BEGIN;
SELECT plan(40);

SELECT volatility_is('hubspot_sync', 'create_booking_atomic',
                     ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'integer', 'text'],
                     'volatile', 'create_booking_atomic is VOLATILE');
SELECT is_definer('hubspot_sync', 'create_booking_atomic',
                    ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'integer', 'text'],
                    'create_booking_atomic is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'create_booking_atomic',
                          ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'integer', 'text'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}')) AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.create_booking_atomic(text,text,text,text,text,text,text,text,text,text,integer,text)'),
          0::bigint, 'plpgsql_check: create_booking_atomic is clean');
SELECT matches(obj_description('hubspot_sync.create_booking_atomic(text,text,text,text,text,text,text,text,text,text,integer,text)'::regprocedure, 'pg_proc'),
               '^Deprecated: use create_booking', 'marked deprecated in its comment');

DO $$
DECLARE
    d date := hubspot_sync.business_today() + 7;
BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'AT_SJ', p_exam_date := d);
    PERFORM tests.make_exam(p_hubspot_id := 'AT_SJ2', p_exam_date := d + 1);
    PERFORM tests.make_exam(p_hubspot_id := 'AT_FULL', p_capacity := 0, p_exam_date := d + 2);
    PERFORM tests.make_exam(p_mock_type := 'Mini-mock', p_hubspot_id := 'AT_MM', p_exam_date := d);
    PERFORM tests.make_student(p_sj := 3, p_shared := 2, p_student_id := 'ATA');
    PERFORM tests.make_student(p_shared := 5, p_student_id := 'ATB');
END $$;

SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.create_booking_atomic(p_student_name := NULL, p_token_used := NULL, p_dominant_hand := NULL, p_mock_set := NULL, p_booking_id := NULL, p_student_id := ''ATA'', p_student_email := ''ata@example.com'', p_mock_exam_id := ''AT_SJ'', p_attending_location := ''calgary'', p_idempotency_key := ''at0'', p_credit_field := ''sj_credits'', p_new_credit_value := 2)')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', 'hubspot_sync.create_booking_atomic(p_student_name := NULL, p_token_used := NULL, p_dominant_hand := NULL, p_mock_set := NULL, p_booking_id := NULL, p_student_id := ''ATA'', p_student_email := ''ata@example.com'', p_mock_exam_id := ''AT_SJ'', p_attending_location := ''calgary'', p_idempotency_key := ''at0'', p_credit_field := ''sj_credits'', p_new_credit_value := 2)')$$,
                 '42501', NULL, 'authenticated is refused');

-- A stale absolute value is never written: the booking spends one credit relatively ---------------
-- (two bookings of one student at once: the app computed both from the same balance)
SELECT tests.snapshot('conflict');
SAVEPOINT stale;
SELECT is(tests.rpc('service_role', 'hubspot_sync.create_booking_atomic(p_mock_set := NULL, p_booking_id := ''BK-APP-1'', p_student_id := ''ATA'', p_student_email := ''ata@example.com'', p_mock_exam_id := ''AT_SJ'', p_student_name := ''A'', p_token_used := ''Situational Judgment Token'', p_attending_location := ''calgary'', p_dominant_hand := NULL, p_idempotency_key := ''at1'', p_credit_field := ''sj_credits'', p_new_credit_value := 5)') ->> 'credits_remaining',
          '2', 'a stale absolute value (5) is not written: one credit is spent relatively (3 -> 2)');
SELECT matches((SELECT note FROM hubspot_sync.credit_ledger l
                JOIN hubspot_sync.hubspot_contact_credits c ON c.id = l.contact_id
                WHERE c.student_id = 'ATA' ORDER BY l.id DESC LIMIT 1),
               'expected 5 sj_credits after this booking; it is 2',
               'the ledger row notes the value the app expected');
ROLLBACK TO SAVEPOINT stale;
SELECT ok(tests.unchanged_since('conflict'), 'rolled back to the savepoint: the balance is 3 again, no booking');

-- The right value books, spending relatively ---------------------------------------------------
CREATE TEMP TABLE r_at AS
SELECT tests.rpc('service_role', $$hubspot_sync.create_booking_atomic(p_mock_set := NULL, p_booking_id := 'BK-APP-1', p_student_id := 'ATA', p_student_email := 'ata@example.com', p_mock_exam_id := 'AT_SJ', p_student_name := 'Ann', p_token_used := 'Situational Judgment Token', p_attending_location := 'calgary', p_dominant_hand := NULL, p_idempotency_key := 'at1', p_credit_field := 'sj_credits', p_new_credit_value := 2)$$) AS r;
SELECT is((SELECT r - 'id' - 'exam_date' - 'booking_id' - 'contact_hubspot_id' - 'starts_at'
                  - 'ends_at' - 'time_zone' FROM r_at),
          '{"success": true, "idempotent_replay": false, "booking_code": "BK-APP-1",
            "mock_exam_hubspot_id": "AT_SJ", "status": "Active",
            "mock_exam_id": "AT_SJ", "mock_type": "Situational Judgment", "student_id": "ATA",
            "token_used": "Situational Judgment Token", "credit_field": "sj_credits",
            "credits_remaining": 2, "total_bookings": 1, "capacity": 10}'::jsonb,
          'with the true balance - 1 the booking is made with the app''s booking code');
SELECT is((SELECT (r ->> 'booking_id')::uuid = (r ->> 'id')::uuid FROM r_at), true,
          'booking_id is the booking''s uuid, as production returned it');
SELECT is(tests.ledger_of('ATA'), ARRAY['sj_credits -1 2 booking'], 'one relative ledger row');
SELECT is((SELECT name FROM hubspot_sync.hubspot_bookings WHERE booking_id = 'BK-APP-1'), 'Ann', 'the app''s name is stored');

-- The app's choice of field is honoured if it can pay ---------------------------------------------
SELECT is(tests.rpc('service_role', $$hubspot_sync.create_booking_atomic(p_student_name := NULL, p_token_used := NULL, p_dominant_hand := NULL, p_mock_set := NULL, p_booking_id := NULL, p_student_id := 'ATA', p_student_email := 'ata@example.com', p_mock_exam_id := 'AT_SJ2', p_attending_location := 'calgary', p_idempotency_key := 'at2', p_credit_field := 'shared_mock_credits', p_new_credit_value := 1)$$) ->> 'token_used',
          'Shared Token', 'shared_mock_credits chosen by the app pays for SJ (Shared Token)');
SELECT is(ARRAY[tests.balance('ATA', 'sj_credits'), tests.balance('ATA', 'shared_mock_credits')], ARRAY[2, 1],
          'the chosen field was spent');

-- Idempotency, shared with create_booking ---------------------------------------------------------
SELECT tests.snapshot('replay');
SELECT is(tests.rpc('service_role', $$hubspot_sync.create_booking_atomic(p_student_name := NULL, p_token_used := NULL, p_dominant_hand := NULL, p_mock_set := NULL, p_booking_id := 'BK-APP-1', p_student_id := 'ATA', p_student_email := 'ata@example.com', p_mock_exam_id := 'AT_SJ', p_attending_location := 'calgary', p_idempotency_key := 'at1', p_credit_field := 'sj_credits', p_new_credit_value := 2)$$),
          (SELECT r || '{"idempotent_replay": true}' FROM r_at), 'a retry with the same key replays (the stale value is not checked again)');
SELECT is(tests.rpc('service_role', $$hubspot_sync.create_booking(p_student_id := 'ATA', p_email := 'ata@example.com', p_mock_exam_id := 'AT_SJ', p_idempotency_key := 'at1', p_attending_location := 'calgary')$$) ->> 'booking_id',
          'BK-APP-1', 'create_booking with the same key and request replays it too');
-- the original app recomputes its value (balance - 1) for a retry: after the first call spent
-- the last credit that is -1, and the arguments are checked before the key is looked up
SELECT matches(tests.rpc_error('service_role', $$hubspot_sync.create_booking_atomic(p_student_name := NULL, p_token_used := NULL, p_dominant_hand := NULL, p_mock_set := NULL, p_booking_id := 'BK-APP-1', p_student_id := 'ATA', p_student_email := 'ata@example.com', p_mock_exam_id := 'AT_SJ', p_attending_location := 'calgary', p_idempotency_key := 'at1', p_credit_field := 'sj_credits', p_new_credit_value := -1)$$),
               '^PT400 INVALID_ARGUMENT: p_new_credit_value', 'a retry whose recomputed value is negative is refused, not replayed');
SELECT ok(tests.unchanged_since('replay'), 'replays change nothing');

-- Every other rule -------------------------------------------------------------------------------
SELECT tests.snapshot('rules');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.create_booking_atomic(p_student_name := NULL, p_dominant_hand := NULL, p_mock_set := NULL, p_booking_id := NULL, p_student_id := ''ATB'', p_student_email := %L, p_mock_exam_id := ''AT_SJ'', p_attending_location := ''calgary'', p_idempotency_key := %L, p_credit_field := %L, p_new_credit_value := %s, p_token_used := %L)', e, k, f, v, tk)),
               '^PT400 INVALID_ARGUMENT: ' || n, format('%s is refused', d))
FROM (VALUES ('atb@example.com', 'k', NULL, '4', NULL, 'p_credit_field', 'a missing credit field'),
             ('atb@example.com', 'k', 'gold', '4', NULL, 'p_credit_field', 'an unknown credit field'),
             ('atb@example.com', 'k', 'shared_mock_credits', 'NULL', NULL, 'p_new_credit_value', 'a missing new value'),
             ('atb@example.com', 'k', 'shared_mock_credits', '-1', NULL, 'p_new_credit_value', 'a negative new value'),
             ('atb@example.com', NULL, 'shared_mock_credits', '4', NULL, 'p_idempotency_key', 'a missing key'),
             ('not-an-email', 'k', 'shared_mock_credits', '4', NULL, 'p_student_email', 'a bad email (named as the caller knows it)'),
             ('atb@example.com', 'k', 'cs_credits', '4', NULL, 'p_credit_field cs_credits cannot pay', 'a field that cannot pay for SJ'),
             ('atb@example.com', 'k', 'shared_mock_credits', '4', 'Situational Judgment Token', 'p_token_used', 'a token label of another field')) AS t(e, k, f, v, tk, n, d);
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.create_booking_atomic(p_student_name := NULL, p_token_used := NULL, p_dominant_hand := NULL, p_mock_set := NULL, p_booking_id := NULL, p_student_id := ''ATB'', p_student_email := ''atb@example.com'', p_mock_exam_id := ''AT_MM'', p_attending_location := ''calgary'', p_idempotency_key := ''at3'', p_credit_field := ''sjmini_credits'', p_new_credit_value := 0)')$$,
                 'PT402', 'INSUFFICIENT_CREDITS', 'a field without credits (Mini-mock never uses shared)');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.create_booking_atomic(p_student_name := NULL, p_token_used := NULL, p_dominant_hand := NULL, p_mock_set := NULL, p_booking_id := NULL, p_student_id := ''ATB'', p_student_email := ''atb@example.com'', p_mock_exam_id := ''AT_FULL'', p_attending_location := ''calgary'', p_idempotency_key := ''at4'', p_credit_field := ''shared_mock_credits'', p_new_credit_value := 4)')$$,
                 'PT409', 'EXAM_FULL', 'capacity applies');
SELECT ok(tests.unchanged_since('rules'), 'no refused call changed anything');
CREATE TEMP TABLE r_repeat AS SELECT tests.rpc('service_role', 'hubspot_sync.create_booking_atomic(p_booking_id := ''BK-APP-1'', p_student_id := ''ATB'', p_student_email := ''atb@example.com'', p_mock_exam_id := ''AT_SJ'', p_student_name := NULL, p_token_used := NULL, p_dominant_hand := NULL, p_mock_set := ''C'', p_attending_location := ''calgary'', p_idempotency_key := ''at5'', p_credit_field := ''shared_mock_credits'', p_new_credit_value := 4)') AS r;
SELECT is((SELECT x.r ->> 'booking_code' || ' ' || b.legacy_booking_id FROM r_repeat AS x
           JOIN hubspot_sync.hubspot_bookings b ON b.idempotency_key = 'at5'),
          'BK-APP-1-R2 BK-APP-1', 'a booking code already in use (the app''s rebook) is stored as <code>-R2, the code kept in legacy_booking_id');
SELECT is((SELECT mock_set::text FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'at5'), 'C', 'p_mock_set is stored');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.create_booking_atomic(p_booking_id := NULL, p_student_id := ''ATB'', p_student_email := ''atb@example.com'', p_mock_exam_id := ''AT_SJ2'', p_student_name := NULL, p_token_used := NULL, p_dominant_hand := NULL, p_mock_set := ''Z'', p_attending_location := ''calgary'', p_idempotency_key := ''at6'', p_credit_field := ''shared_mock_credits'', p_new_credit_value := 3)')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a mock set other than A-H is refused');
-- the original app's location spellings (legacy_attending_location, README: the original
-- app's location values)
SELECT is(ARRAY(SELECT mockbook_internal.legacy_attending_location(v) FROM unnest(ARRAY[
              'Mississauga', ' Richmond Hill ', 'richmond-hill', 'Mississauga - Lab D',
              'Mississauga - B9', 'CALGARY', 'vancouver', 'Montreal']) AS v),
          ARRAY['mississauga', 'richmond_hill', 'richmond_hill', 'mississauga', 'mississauga',
                'calgary', 'vancouver', 'montreal'],
          'display names, campus with room, any case: the location code');
SELECT is(ARRAY(SELECT mockbook_internal.legacy_attending_location(v) FROM unnest(ARRAY[
              NULL, '', 'TBD', 'tbd', 'Online', 'Virtual', 'Hybrid', 'In-Person']) AS v),
          ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL]::text[],
          'TBD and the formats that name no campus: no location');
SELECT throws_ok($$SELECT mockbook_internal.legacy_attending_location('Toronto')$$,
                 'PT400', 'INVALID_ARGUMENT', 'another place is refused');
SELECT is_empty('SELECT * FROM tests.invariant_violations()', 'total_bookings = Active bookings everywhere');

SELECT * FROM finish();
ROLLBACK;
