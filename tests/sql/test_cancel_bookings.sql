-- cancel_bookings: admin batch of at most 100; cancelled / skipped / not_found per
-- item, refunds as cancel_booking, one transaction.
BEGIN;
SELECT plan(26);
SELECT tests.isolate();  -- other tests of the run may have committed bookings

-- Catalog and privileges ----------------------------------------------------------------------
SELECT volatility_is('hubspot_sync', 'cancel_bookings', ARRAY['text[]', 'boolean', 'text', 'text'], 'volatile',
                     'cancel_bookings is VOLATILE');
SELECT is_definer('hubspot_sync', 'cancel_bookings', ARRAY['text[]', 'boolean', 'text', 'text'],
                    'cancel_bookings is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'cancel_bookings', ARRAY['text[]', 'boolean', 'text', 'text'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}')) AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.cancel_bookings(text[],boolean,text,text)'), 0::bigint,
          'plpgsql_check: cancel_bookings is clean');
SELECT matches(obj_description('hubspot_sync.cancel_bookings(text[],boolean,text,text)'::regprocedure, 'pg_proc'),
               'at most 100', 'cancel_bookings has a comment');

DO $$
DECLARE
    d date := hubspot_sync.business_today() + 7;
BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'BX_1', p_exam_date := d);
    PERFORM tests.make_exam(p_hubspot_id := 'BX_2', p_exam_date := d + 1);
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'BX_CS', p_exam_date := d);
    PERFORM tests.make_student(p_sj := 2, p_shared := 1, p_student_id := 'BXA');
    PERFORM tests.make_student(p_sj := 3, p_student_id := 'BXB');
    PERFORM tests.book('BXA', 'BX_1', 'bx-a1');                                  -- sj
    PERFORM tests.book('BXA', 'BX_CS', 'bx-a2', NULL, 'right');                  -- shared
    PERFORM tests.book('BXB', 'BX_1', 'bx-b1');
    PERFORM tests.book('BXB', 'BX_2', 'bx-b2');
    PERFORM tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''BXA'', p_email := ''bxa@example.com'', p_mock_exam_id := ''BX_2'', p_idempotency_key := ''bx-ad'', p_actor := ''admin'', p_attending_location := ''calgary'')');
    PERFORM tests.seed_booking('BXB', 'BX_CS', p_status := 'Completed', p_attendance := 'No',
                               p_token_used := 'Clinical Skills Token', p_idempotency_key := 'bx-done');
    PERFORM tests.seed_booking('BXB', 'BX_CS', p_status := 'Cancelled', p_idempotency_key := 'bx-gone');
END $$;
CREATE TEMP TABLE bk AS SELECT idempotency_key AS k, id, booking_id AS code FROM hubspot_sync.hubspot_bookings;

SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.cancel_bookings(p_booking_ids := ARRAY[''BK-X''])')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', 'hubspot_sync.cancel_bookings(p_booking_ids := ARRAY[''BK-X''])')$$,
                 '42501', NULL, 'authenticated is refused');

-- Limits ---------------------------------------------------------------------------------------
SELECT tests.snapshot('limits');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.cancel_bookings(p_booking_ids := %L::text[])',
                                                      (SELECT array_agg(code) || array_fill('BK-NOPE'::text, ARRAY[101 - count(*)::int]) FROM bk))),
               '^PT400 INVALID_ARGUMENT: p_booking_ids has 101 items', '101 references are refused');
SELECT ok(tests.unchanged_since('limits'), 'and nothing of the 101 was cancelled');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.cancel_bookings(p_booking_ids := NULL)'),
               '^PT400 INVALID_ARGUMENT: p_booking_ids', 'a NULL list is refused');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.cancel_bookings(p_booking_ids := ARRAY[''BK-X''], p_refund := NULL)'),
               '^PT400 INVALID_ARGUMENT: p_refund', 'a NULL p_refund is refused');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.cancel_bookings(p_booking_ids := ARRAY[''BK-X''], p_actor := repeat(''a'', 256))'),
               '^PT400 INVALID_ARGUMENT: p_actor', 'an actor of 256 characters is refused');
SELECT is(tests.rpc('service_role', 'hubspot_sync.cancel_bookings(p_booking_ids := ''{}'')'),
          '{"cancelled": [], "skipped": [], "not_found": []}'::jsonb, 'an empty list does nothing');
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_bookings(p_booking_ids := %L::text[])',
                                           array_fill('BK-NOPE'::text, ARRAY[100])))
          -> 'not_found' ->> 99, 'BK-NOPE', 'exactly 100 references are accepted');

-- A mixed batch --------------------------------------------------------------------------------
CREATE TEMP TABLE r_bx AS
SELECT tests.rpc('service_role', format('hubspot_sync.cancel_bookings(p_booking_ids := %L::text[], p_actor := ''ops@example.com'')',
    ARRAY[(SELECT id::text FROM bk WHERE k = 'bx-a1'), (SELECT code FROM bk WHERE k = 'bx-a2'),
          (SELECT code FROM bk WHERE k = 'bx-gone'), (SELECT code FROM bk WHERE k = 'bx-done'),
          'BK-NOPE', NULL, (SELECT id::text FROM bk WHERE k = 'bx-a1'), (SELECT code FROM bk WHERE k = 'bx-ad'),
          (SELECT code FROM bk WHERE k = 'bx-b1')])) AS r;
SELECT is((SELECT jsonb_agg(c - 'id' - 'success' ORDER BY o) FROM r_bx, jsonb_array_elements(r -> 'cancelled') WITH ORDINALITY AS t(c, o)),
          jsonb_build_array(
              jsonb_build_object('booking_id', (SELECT code FROM bk WHERE k = 'bx-a1'), 'status', 'Cancelled',
                                 'credit_field', 'sj_credits', 'credits_restored', 1, 'credits_remaining', 2, 'total_bookings', 1),
              jsonb_build_object('booking_id', (SELECT code FROM bk WHERE k = 'bx-a2'), 'status', 'Cancelled',
                                 'credit_field', 'shared_mock_credits', 'credits_restored', 1, 'credits_remaining', 1, 'total_bookings', 0),
              jsonb_build_object('booking_id', (SELECT code FROM bk WHERE k = 'bx-ad'), 'status', 'Cancelled',
                                 'credit_field', NULL, 'credits_restored', 0, 'credits_remaining', NULL, 'total_bookings', 1),
              jsonb_build_object('booking_id', (SELECT code FROM bk WHERE k = 'bx-b1'), 'status', 'Cancelled',
                                 'credit_field', 'sj_credits', 'credits_restored', 1, 'credits_remaining', 2, 'total_bookings', 0)),
          'cancelled: each Active booking, in order, with its refund (sj, shared, none for Admin Override)');
SELECT is((SELECT r -> 'skipped' FROM r_bx),
          jsonb_build_array(
              jsonb_build_object('booking_id', (SELECT code FROM bk WHERE k = 'bx-gone'), 'reason', 'ALREADY_CANCELLED'),
              jsonb_build_object('booking_id', (SELECT code FROM bk WHERE k = 'bx-done'), 'reason', 'NOT_CANCELLABLE'),
              jsonb_build_object('booking_id', (SELECT id::text FROM bk WHERE k = 'bx-a1'), 'reason', 'ALREADY_CANCELLED')),
          'skipped: already cancelled (also a repeat within the batch) and Completed, not errors');
SELECT is((SELECT r -> 'not_found' FROM r_bx), '["BK-NOPE", null]'::jsonb, 'not_found: unknown and NULL references');
SELECT is(ARRAY[tests.balance('BXA', 'sj_credits'), tests.balance('BXA', 'shared_mock_credits'), tests.balance('BXB', 'sj_credits')],
          ARRAY[2, 1, 2], 'the credits are back in their fields');
SELECT is((SELECT array_agg(format('%s %s %s %s', student_id, credit_field, delta, actor) ORDER BY id)
           FROM hubspot_sync.credit_ledger WHERE reason = 'cancellation'),
          ARRAY['BXA sj_credits 1 ops@example.com', 'BXA shared_mock_credits 1 ops@example.com', 'BXB sj_credits 1 ops@example.com'],
          'one cancellation ledger row per refund, with the actor');
SELECT is((SELECT array_agg(is_active ORDER BY idempotency_key) FROM hubspot_sync.hubspot_bookings),
          ARRAY['Cancelled', 'Cancelled', 'Cancelled', 'Cancelled', 'Active', 'Completed', 'Cancelled'],
          'only the named Active bookings were cancelled (bx-b2 untouched, bx-done still Completed)');
SELECT is(ARRAY[tests.total('BX_1'), tests.total('BX_2'), tests.total('BX_CS')], ARRAY[0, 1, 0], 'total_bookings follow');

-- Without refund -------------------------------------------------------------------------------
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_bookings(p_booking_ids := ARRAY[%L], p_refund := false)',
                                           (SELECT code FROM bk WHERE k = 'bx-b2'))) -> 'cancelled' -> 0 ->> 'credits_restored',
          '0', 'p_refund false cancels without refund');
SELECT is(tests.balance('BXB', 'sj_credits'), 2, 'no credit came back');
SELECT is_empty('SELECT * FROM tests.invariant_violations()', 'total_bookings = Active bookings everywhere');

SELECT * FROM finish();
ROLLBACK;
