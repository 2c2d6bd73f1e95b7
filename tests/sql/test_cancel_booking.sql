-- cancel_booking: refunds to the field token_used names (Shared Token -> shared,
-- Admin Override -> nothing), ownership, status rules, any of the three ids, nothing changed on
-- refusal.
BEGIN;
SELECT plan(45);

-- Catalog and privileges ----------------------------------------------------------------------
SELECT volatility_is('hubspot_sync', 'cancel_booking', ARRAY['text', 'text', 'boolean', 'text', 'text', 'text'],
                     'volatile', 'cancel_booking is VOLATILE');
SELECT is_definer('hubspot_sync', 'cancel_booking', ARRAY['text', 'text', 'boolean', 'text', 'text', 'text'],
                    'cancel_booking is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'cancel_booking', ARRAY['text', 'text', 'boolean', 'text', 'text', 'text'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}')) AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.cancel_booking(text,text,boolean,text,text,text)'), 0::bigint,
          'plpgsql_check: cancel_booking is clean');
SELECT is(tests.plpgsql_check_count('mockbook_internal.cancel_locked_booking(uuid,text,boolean,text,text)'), 0::bigint,
          'plpgsql_check: its core cancel_locked_booking is clean');
SELECT matches(obj_description('hubspot_sync.cancel_booking(text,text,boolean,text,text,text)'::regprocedure, 'pg_proc'),
               'ALREADY_CANCELLED', 'cancel_booking has a comment');

DO $$
DECLARE
    d date := hubspot_sync.business_today() + 7;
BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'CX_SJ', p_exam_date := d);
    PERFORM tests.make_exam(p_hubspot_id := 'CX_SJ2', p_exam_date := d + 1);
    PERFORM tests.make_exam(p_hubspot_id := 'CX_SJ3', p_exam_date := d + 2);
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'CX_CS', p_exam_date := d);
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'CX_CS2', p_exam_date := d + 1);
    PERFORM tests.make_exam(p_mock_type := 'Mini-mock', p_hubspot_id := 'CX_MM', p_exam_date := d);
    PERFORM tests.make_exam(p_mock_type := 'Mock Discussion', p_hubspot_id := 'CX_MD', p_exam_date := d);
    -- one credit of each kind, one shared credit per fallback
    PERFORM tests.make_student(p_sj := 1, p_cs := 1, p_sjmini := 1, p_md := 1, p_shared := 2,
                               p_student_id := 'CXA');
    PERFORM tests.make_student(p_sj := 5, p_student_id := 'CXB');
    -- CXA: SJ (sj), SJ (shared), CS (cs), CS (shared), Mini-mock, Mock Discussion
    PERFORM tests.book('CXA', 'CX_SJ', 'cx-sj');
    PERFORM tests.book('CXA', 'CX_SJ2', 'cx-sh');
    PERFORM tests.book('CXA', 'CX_CS', 'cx-cs', NULL, 'left');
    PERFORM tests.book('CXA', 'CX_CS2', 'cx-cssh', NULL, 'left');
    PERFORM tests.book('CXA', 'CX_MM', 'cx-mm');
    PERFORM tests.book('CXA', 'CX_MD', 'cx-md', NULL);
    PERFORM tests.rpc('service_role', 'hubspot_sync.admin_create_booking(p_student_id := ''CXA'', p_email := ''cxa@example.com'', p_mock_exam_id := ''CX_SJ3'', p_idempotency_key := ''cx-ad'', p_actor := ''admin'', p_attending_location := ''calgary'')');
    PERFORM tests.book('CXB', 'CX_SJ', 'cx-b1');
    PERFORM tests.book('CXB', 'CX_SJ2', 'cx-b2');
    PERFORM tests.book('CXB', 'CX_SJ3', 'cx-b3');
    UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = 'HS-CX-B2' WHERE idempotency_key = 'cx-b2';
END $$;
CREATE TEMP TABLE bk AS SELECT idempotency_key AS k, id, booking_id AS code FROM hubspot_sync.hubspot_bookings;
SELECT is(ARRAY[tests.balance('CXA', 'sj_credits'), tests.balance('CXA', 'cs_credits'), tests.balance('CXA', 'sjmini_credits'),
                tests.balance('CXA', 'mock_discussion_token'), tests.balance('CXA', 'shared_mock_credits')],
          ARRAY[0, 0, 0, 0, 0], 'fixture: CXA spent every credit (two of them shared)');

SELECT throws_ok($$SELECT tests.rpc('anon', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT code FROM bk WHERE k = 'cx-b1')))$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT code FROM bk WHERE k = 'cx-b1')))$$,
                 '42501', NULL, 'authenticated is refused');

-- The refund table -----------------------------------------------------------------------------
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L, p_reason := ''ill'', p_actor := ''desk@example.com'')', (SELECT id FROM bk WHERE k = 'cx-sj'))),
          (SELECT jsonb_build_object('success', true, 'id', id, 'booking_id', code, 'status', 'Cancelled',
                                     'credit_field', 'sj_credits', 'credits_restored', 1, 'credits_remaining', 1,
                                     'total_bookings', 1) FROM bk WHERE k = 'cx-sj'),
          'an SJ Token booking (by uuid) refunds sj_credits; the result says so');
SELECT results_eq(
    $$SELECT is_active, token_refunded, token_refunded_at IS NOT NULL, token_refund_admin
      FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'cx-sj'$$,
    $$VALUES ('Cancelled', true, true, 'desk@example.com')$$, 'the booking is Cancelled and marked refunded by the actor');
SELECT results_eq(
    $$SELECT credit_field::text, delta::integer, balance_after::integer, reason::text, actor, note, booking_id
      FROM hubspot_sync.credit_ledger WHERE student_id = 'CXA' AND reason = 'cancellation'$$,
    $$SELECT 'sj_credits'::text, 1, 1, 'cancellation'::text, 'desk@example.com'::text, 'ill'::text, id FROM bk WHERE k = 'cx-sj'$$,
    'one ledger row: +1 sj_credits, reason cancellation, actor, reason as note');
SELECT is(tests.total('CX_SJ'), 1, 'total_bookings - 1');
SELECT is((SELECT performed_by FROM hubspot_sync.supabase_audit_log
           WHERE table_name = 'hubspot_bookings' AND record_id = (SELECT id FROM bk WHERE k = 'cx-sj') AND operation = 'UPDATE'
           ORDER BY id DESC LIMIT 1),
          'desk@example.com', 'the audit row names the actor');

SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT code FROM bk WHERE k = 'cx-sh')))
          - ARRAY['id', 'booking_id', 'success', 'status', 'total_bookings'],
          '{"credit_field": "shared_mock_credits", "credits_restored": 1, "credits_remaining": 1}'::jsonb,
          'a Shared Token SJ booking (by booking code) refunds shared_mock_credits');
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT code FROM bk WHERE k = 'cx-cs')))
          ->> 'credit_field', 'cs_credits', 'a Clinical Skills Token booking refunds cs_credits');
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT code FROM bk WHERE k = 'cx-cssh')))
          ->> 'credits_remaining', '2', 'a Shared Token CS booking refunds shared_mock_credits too');
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT code FROM bk WHERE k = 'cx-mm')))
          ->> 'credit_field', 'sjmini_credits', 'a Mini-mock Token booking refunds sjmini_credits');
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT code FROM bk WHERE k = 'cx-md')))
          ->> 'credit_field', 'mock_discussion_token', 'a Mock Discussion Token booking refunds mock_discussion_token');
SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT code FROM bk WHERE k = 'cx-ad')))
          - ARRAY['id', 'booking_id', 'success', 'status'],
          '{"credit_field": null, "credits_restored": 0, "credits_remaining": null, "total_bookings": 1}'::jsonb,
          'an Admin Override booking refunds nothing');
SELECT is(ARRAY[tests.balance('CXA', 'sj_credits'), tests.balance('CXA', 'cs_credits'), tests.balance('CXA', 'sjmini_credits'),
                tests.balance('CXA', 'mock_discussion_token'), tests.balance('CXA', 'shared_mock_credits')],
          ARRAY[1, 1, 1, 1, 2], 'every credit is back in the field it came from');
SELECT is(tests.balance_minus_ledger('CXA'),
          ARRAY['cs_credits 1', 'mock_discussion_token 1', 'shared_mock_credits 2', 'sj_credits 1', 'sjmini_credits 1'],
          'balance = starting balance + ledger');
SELECT is((SELECT token_refunded FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'cx-ad'), false,
          'the Admin Override booking is not marked refunded');

-- Without refund, by HubSpot id, by the owning student ------------------------------------------
SELECT is(tests.rpc('service_role', 'hubspot_sync.cancel_booking(p_booking_id := ''HS-CX-B2'', p_student_id := ''CXB'', p_refund := false)')
          - ARRAY['id', 'booking_id', 'success', 'status'],
          '{"credit_field": "sj_credits", "credits_restored": 0, "credits_remaining": 2, "total_bookings": 0}'::jsonb,
          'the owner cancels by HubSpot id without refund: nothing restored');
SELECT is(tests.ledger_of('CXB'), ARRAY['sj_credits -1 4 booking', 'sj_credits -1 3 booking', 'sj_credits -1 2 booking'],
          'no ledger row without refund');
SELECT is((SELECT token_refunded::text || coalesce(token_refund_admin, '-') FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'cx-b2'),
          'false-', 'not marked refunded');

-- Refusals change nothing ----------------------------------------------------------------------
DO $$ BEGIN
    PERFORM tests.seed_booking('CXB', 'CX_CS', p_status := 'Completed', p_attendance := 'Yes', p_token_used := 'Clinical Skills Token');
    PERFORM tests.seed_booking('CXB', 'CX_MM', p_status := 'Failed', p_token_used := 'Mini-mock Token');
END $$;
SELECT tests.snapshot('refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L, p_student_id := ''CXA'')', (SELECT code FROM bk WHERE k = 'cx-b1')))$$,
                 'PT403', 'FORBIDDEN', 'another student''s booking is forbidden');
SELECT throws_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L, p_student_id := ''CXA'')', (SELECT code FROM bk WHERE k = 'cx-b2')))$$,
                 'PT403', 'FORBIDDEN', 'ownership is checked before the status');
SELECT throws_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT code FROM bk WHERE k = 'cx-b2')))$$,
                 'PT409', 'ALREADY_CANCELLED', 'a Cancelled booking');
SELECT throws_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT id FROM hubspot_sync.hubspot_bookings WHERE student_id = 'CXB' AND is_active = 'Completed')))$$,
                 'PT409', 'NOT_CANCELLABLE', 'a Completed booking');
SELECT throws_ok($$SELECT tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L)', (SELECT id FROM hubspot_sync.hubspot_bookings WHERE student_id = 'CXB' AND is_active = 'Failed')))$$,
                 'PT409', 'NOT_CANCELLABLE', 'a Failed booking');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.cancel_booking(p_booking_id := ''BK-NOPE'')')$$,
                 'PT404', 'BOOKING_NOT_FOUND', 'an unknown booking code');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.cancel_booking(p_booking_id := ''00000000-0000-0000-0000-000000000000'')')$$,
                 'PT404', 'BOOKING_NOT_FOUND', 'an unknown uuid');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L, p_student_id := %L, p_refund := %s, p_reason := %L, p_actor := %L)', b, s, r, re, a)),
               '^PT400 INVALID_ARGUMENT: ' || f, format('%s is refused', d))
FROM (VALUES (NULL, NULL, 'true', NULL, NULL, 'p_booking_id', 'a NULL booking id'),
             ('', NULL, 'true', NULL, NULL, 'p_booking_id', 'an empty booking id'),
             ('BK-X', 'cxb', 'true', NULL, NULL, 'p_student_id', 'a lower-case student id'),
             ('BK-X', ' ', 'true', NULL, NULL, 'p_student_id', 'a blank student id (never an admin call)'),
             ('BK-X', NULL, 'NULL', NULL, NULL, 'p_refund', 'a NULL p_refund'),
             ('BK-X', NULL, 'true', repeat('r', 1001), NULL, 'p_reason', 'a reason of 1001 characters'),
             ('BK-X', NULL, 'true', NULL, repeat('a', 256), 'p_actor', 'an actor of 256 characters')) AS t(b, s, r, re, a, f, d);
SELECT ok(tests.unchanged_since('refused'), 'no refused cancellation changed anything');

SELECT is(tests.rpc('service_role', format('hubspot_sync.cancel_booking(p_booking_id := %L, p_student_id := ''CXB'')', (SELECT code FROM bk WHERE k = 'cx-b1')))
          ->> 'credits_restored', '1', 'the owner cancels their own booking with refund');
SELECT is_empty('SELECT * FROM tests.invariant_violations()', 'total_bookings = Active bookings everywhere');

SELECT * FROM finish();
ROLLBACK;
