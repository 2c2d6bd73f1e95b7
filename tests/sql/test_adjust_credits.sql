-- adjust_credits: admin credit changes are relative, ledgered, audited, never below zero.
BEGIN;
SELECT plan(35);

-- Catalog and privileges ---------------------------------------------------------------------------
SELECT volatility_is('hubspot_sync', 'adjust_credits', ARRAY['text', 'text', 'integer', 'text', 'text', 'text'],
                     'volatile', 'adjust_credits is VOLATILE');
SELECT is_definer('hubspot_sync', 'adjust_credits', ARRAY['text', 'text', 'integer', 'text', 'text', 'text'],
                    'adjust_credits is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'adjust_credits',
                          ARRAY['text', 'text', 'integer', 'text', 'text', 'text'], r, p,
                          format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.adjust_credits(text, text, integer, text, text, text)'),
          0::bigint, 'plpgsql_check: adjust_credits is clean');
SELECT isnt(obj_description('hubspot_sync.adjust_credits(text, text, integer, text, text, text)'::regprocedure,
                            'pg_proc'), NULL, 'adjust_credits has a comment');

DO $$ BEGIN
    PERFORM tests.make_student(p_sj := 1, p_cs := 2, p_sjmini := 3, p_md := 4, p_shared := 5,
                               p_student_id := 'ADJ1');
    PERFORM tests.make_student(p_student_id := 'ADJ2');
    UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = NULL WHERE student_id = 'ADJ2';
END $$;

SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''sj_credits'', p_delta := 1, p_reason := ''x'', p_actor := ''a'')')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''sj_credits'', p_delta := 1, p_reason := ''x'', p_actor := ''a'')')$$,
                 '42501', NULL, 'authenticated is refused');

-- Success ------------------------------------------------------------------------------------------
DELETE FROM hubspot_sync.supabase_audit_log;
SELECT is(tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''sj_credits'', p_delta := 3, p_reason := ''goodwill'', p_actor := ''admin@example.com'')'),
          '{"success": true, "student_id": "ADJ1", "credit_field": "sj_credits", "delta": 3,
            "previous_balance": 1, "balance": 4}'::jsonb,
          'service_role adds credits; the result has the new balance');
SELECT results_eq(
    $$SELECT credit_field::text, delta::integer, balance_after::integer, reason::text, actor, note, booking_id
      FROM hubspot_sync.credit_ledger WHERE student_id = 'ADJ1'$$,
    $$VALUES ('sj_credits', 3, 4, 'admin_adjustment', 'admin@example.com', 'goodwill', NULL::uuid)$$,
    'one ledger row: admin_adjustment, the actor, the reason as note');
SELECT results_eq(
    $$SELECT performed_by, changed_fields, new_values FROM hubspot_sync.supabase_audit_log$$,
    $$VALUES ('admin@example.com', '["sj_credits"]'::jsonb, '{"sj_credits": 4}'::jsonb)$$,
    'the audit row names the actor');

SELECT is(tests.rpc('service_role', format(
              'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := %L, p_delta := -1, p_reason := ''fix'', p_actor := ''a'')',
              f)) ->> 'balance',
          b::text, format('%s can be decreased', f))
FROM (VALUES ('cs_credits', 1), ('sjmini_credits', 2), ('mock_discussion_token', 3),
             ('shared_mock_credits', 4)) AS v(f, b);
SELECT results_eq(
    $$SELECT sj_credits, cs_credits, sjmini_credits, mock_discussion_token, shared_mock_credits
      FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'ADJ1'$$,
    $$VALUES (4, 1, 2, 3, 4)$$, 'each adjustment changed only its own field');
SELECT is(tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''cs_credits'', p_delta := -1, p_reason := ''to zero'', p_actor := ''a'')') ->> 'balance',
          '0', 'a balance may go down to exactly zero');
SELECT is(tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ2'', p_credit_field := ''sj_credits'', p_delta := 2, p_reason := ''first'', p_actor := ''a'')') ->> 'previous_balance',
          '0', 'a NULL balance counts as zero');
SELECT is((SELECT sum(delta)::int FROM hubspot_sync.credit_ledger WHERE student_id = 'ADJ1'), -2,
          'the ledger explains every change (3 - 1 - 1 - 1 - 1 - 1)');

-- Errors: nothing changes --------------------------------------------------------------------------
CREATE TEMP TABLE before AS
    SELECT (SELECT count(*) FROM hubspot_sync.credit_ledger) AS ledger,
           (SELECT to_jsonb(c) - 'updated_at' FROM hubspot_sync.hubspot_contact_credits AS c
            WHERE student_id = 'ADJ1') AS contact;
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''cs_credits'', p_delta := -1, p_reason := ''x'', p_actor := ''a'')')$$,
                 'PT402', 'INSUFFICIENT_CREDITS', 'a balance never goes below zero');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''sj_credits'', p_delta := -5, p_reason := ''x'', p_actor := ''a'')')$$,
                 'PT402', 'INSUFFICIENT_CREDITS', 'a decrease larger than the balance is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''email'', p_delta := 1, p_reason := ''x'', p_actor := ''a'')')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a column that is not a credit field is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''sj_credits = 99, cs_credits'', p_delta := 1, p_reason := ''x'', p_actor := ''a'')')$$,
                 'PT400', 'INVALID_ARGUMENT', 'an SQL fragment as field is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := NULL, p_delta := 1, p_reason := ''x'', p_actor := ''a'')')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a NULL field is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''sj_credits'', p_delta := 0, p_reason := ''x'', p_actor := ''a'')')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a zero delta is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''sj_credits'', p_delta := NULL, p_reason := ''x'', p_actor := ''a'')')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a NULL delta is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''sj_credits'', p_delta := 2147483647, p_reason := ''x'', p_actor := ''a'')')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a huge delta is refused (no integer overflow)');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''sj_credits'', p_delta := 1, p_reason := ''  '', p_actor := ''a'')')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a blank reason is refused');
SELECT throws_ok(format('SELECT tests.rpc(%L, %L)', 'service_role',
                        format('hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''sj_credits'', p_delta := 1, p_reason := %L, p_actor := ''a'')',
                               repeat('r', 1001))),
                 'PT400', 'INVALID_ARGUMENT', 'a reason over 1000 characters is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''ADJ1'', p_credit_field := ''sj_credits'', p_delta := 1, p_reason := ''x'', p_actor := NULL)')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a missing actor is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''NOPE'', p_credit_field := ''sj_credits'', p_delta := 1, p_reason := ''x'', p_actor := ''a'')')$$,
                 'PT404', 'CONTACT_NOT_FOUND', 'an unknown student is refused');
SELECT is((SELECT count(*) FROM hubspot_sync.credit_ledger), (SELECT ledger FROM before),
          'refused calls wrote no ledger row');
SELECT is((SELECT to_jsonb(c) - 'updated_at' FROM hubspot_sync.hubspot_contact_credits AS c
           WHERE student_id = 'ADJ1'), (SELECT contact FROM before),
          'refused calls changed no balance');
-- the limits are inclusive: a reason of exactly 1000 characters is taken
SELECT is(tests.rpc('service_role',
              format('hubspot_sync.adjust_credits(p_student_id := ''ADJ2'', p_credit_field := ''sj_credits'', p_delta := 1, p_reason := %L, p_actor := ''a'')',
                     repeat('r', 1000))) ->> 'success',
          'true', 'a reason of exactly 1000 characters is taken');

SELECT * FROM finish();
ROLLBACK;
