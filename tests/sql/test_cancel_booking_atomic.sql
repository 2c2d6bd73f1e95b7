-- cancel_booking_atomic (deprecated production call): the caller's restored absolute
-- balance is verified against the true balance + 1 of the field token_used names, under the
-- contact lock; a mismatch is CREDIT_CONFLICT and changes nothing.
BEGIN;
SELECT plan(23);

SELECT volatility_is('hubspot_sync', 'cancel_booking_atomic', ARRAY['uuid', 'text', 'integer'],
                     'volatile', 'cancel_booking_atomic is VOLATILE');
SELECT is_definer('hubspot_sync', 'cancel_booking_atomic', ARRAY['uuid', 'text', 'integer'],
                    'cancel_booking_atomic is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'cancel_booking_atomic', ARRAY['uuid', 'text', 'integer'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}')) AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.cancel_booking_atomic(uuid,text,integer)'), 0::bigint,
          'plpgsql_check: cancel_booking_atomic is clean');
SELECT matches(obj_description('hubspot_sync.cancel_booking_atomic(uuid,text,integer)'::regprocedure, 'pg_proc'),
               '^Deprecated: use cancel_booking', 'marked deprecated in its comment');

DO $$
DECLARE
    d date := hubspot_sync.business_today() + 7;
BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'CA_1', p_exam_date := d);
    PERFORM tests.make_exam(p_hubspot_id := 'CA_2', p_exam_date := d + 1);
    PERFORM tests.make_exam(p_hubspot_id := 'CA_3', p_exam_date := d + 2);
    PERFORM tests.make_student(p_sj := 1, p_shared := 3, p_student_id := 'CAA');
    PERFORM tests.book('CAA', 'CA_1', 'ca-1');     -- sj_credits: 1 -> 0
    PERFORM tests.book('CAA', 'CA_2', 'ca-2');     -- Shared Token: 3 -> 2
    PERFORM tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''CAA'', p_email := ''caa@example.com'', p_mock_exam_id := ''CA_3'', p_idempotency_key := ''ca-3'', p_actor := ''admin'', p_attending_location := ''calgary'')');
END $$;
CREATE TEMP TABLE bk AS SELECT idempotency_key AS k, id, booking_id AS code FROM hubspot_sync.hubspot_bookings;

SELECT throws_ok($$SELECT tests.rpc('anon', format('hubspot_sync.cancel_booking_atomic(p_booking_id := %L, p_credit_field := NULL, p_restored_credit_value := NULL)', (SELECT id FROM bk WHERE k = 'ca-1')))$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', format('hubspot_sync.cancel_booking_atomic(p_booking_id := %L, p_credit_field := NULL, p_restored_credit_value := NULL)', (SELECT id FROM bk WHERE k = 'ca-1')))$$,
                 '42501', NULL, 'authenticated is refused');

-- Conflicts change nothing ---------------------------------------------------------------------
SELECT tests.snapshot('conflict');
SELECT throws_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.cancel_booking_atomic(p_booking_id := %L, p_credit_field := ''sj_credits'', p_restored_credit_value := 2)', (SELECT id FROM bk WHERE k = 'ca-1')))$$,
                 'PT409', 'CREDIT_CONFLICT', 'a restored value that is not the true balance + 1 is a conflict');
SELECT throws_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.cancel_booking_atomic(p_booking_id := %L, p_credit_field := ''sj_credits'', p_restored_credit_value := 3)', (SELECT id FROM bk WHERE k = 'ca-2')))$$,
                 'PT409', 'CREDIT_CONFLICT', 'a field other than the one token_used names (Shared Token) is a conflict');
SELECT throws_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.cancel_booking_atomic(p_booking_id := %L, p_credit_field := ''sj_credits'', p_restored_credit_value := 1)', (SELECT id FROM bk WHERE k = 'ca-3')))$$,
                 'PT409', 'CREDIT_CONFLICT', 'a refund claimed for an Admin Override booking is a conflict');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.cancel_booking_atomic(p_booking_id := %L, p_credit_field := %L, p_restored_credit_value := %s)', (SELECT id FROM bk WHERE k = 'ca-1'), f, v)),
               '^PT400 INVALID_ARGUMENT: ' || n, format('%s is refused', d))
FROM (VALUES ('sj_credits', 'NULL', 'p_credit_field and p_restored_credit_value', 'a field without value'),
             (NULL, '1', 'p_credit_field and p_restored_credit_value', 'a value without field'),
             ('gold', '1', 'p_credit_field', 'an unknown field'),
             ('sj_credits', '-1', 'p_restored_credit_value', 'a negative value')) AS t(f, v, n, d);
SELECT ok(tests.unchanged_since('conflict'), 'no refused call changed anything');

-- The true values refund relatively ------------------------------------------------------------
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking_atomic(p_booking_id := %L, p_credit_field := ''shared_mock_credits'', p_restored_credit_value := 3)', (SELECT id FROM bk WHERE k = 'ca-2')))
          - ARRAY['id', 'booking_id', 'success', 'booking_hubspot_id', 'student_id', 'mock_exam_id'],
          '{"status": "Cancelled", "credit_field": "shared_mock_credits", "credits_restored": 1, "credits_remaining": 3, "total_bookings": 0}'::jsonb,
          'with the true balance + 1 the Shared Token booking is cancelled and refunded');
SELECT is(tests.ledger_of('CAA'), ARRAY['sj_credits -1 0 booking', 'shared_mock_credits -1 2 booking', 'shared_mock_credits 1 3 cancellation'],
          'one relative cancellation ledger row');
SELECT throws_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.cancel_booking_atomic(p_booking_id := %L, p_credit_field := ''shared_mock_credits'', p_restored_credit_value := 4)', (SELECT id FROM bk WHERE k = 'ca-2')))$$,
                 'PT409', 'ALREADY_CANCELLED', 'a second call says ALREADY_CANCELLED (status before credit check)');
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking_atomic(p_booking_id := %L, p_credit_field := NULL, p_restored_credit_value := NULL)', (SELECT id FROM bk WHERE k = 'ca-3')))
          ->> 'credits_restored', '0', 'without credit values: cancel without refund (Admin Override)');
SELECT is(tests.total('CA_3'), 0, 'total_bookings - 1');
SELECT is_empty('SELECT * FROM tests.invariant_violations()', 'total_bookings = Active bookings everywhere');

SELECT * FROM finish();
ROLLBACK;
