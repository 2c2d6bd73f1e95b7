-- check_invariants: the invariants in the database (status --check, demo, bench, tests).
-- Each check is shown to hold on a consistent database and to report the violation it exists for.
BEGIN;
SELECT plan(14);

SELECT volatility_is('mockbook_internal', 'check_invariants', ARRAY['jsonb', 'bigint'], 'stable',
                     'check_invariants is STABLE');
SELECT function_privs_are('mockbook_internal', 'check_invariants', ARRAY['jsonb', 'bigint'], r, p,
                          format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('mockbook_glue', '{EXECUTE}'))
     AS v(r, p);
SELECT results_eq('SELECT credit_field FROM mockbook_internal.credit_fields() ORDER BY "position"',
                  $$VALUES ('sj_credits'), ('cs_credits'), ('sjmini_credits'),
                           ('mock_discussion_token'), ('shared_mock_credits')$$,
                  'credit_fields() lists the five credit fields (the hubspot_contact_credits columns)');

SELECT tests.isolate();
DO $$ BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'INV1');
    PERFORM tests.make_student(p_sj := 2, p_shared := 1, p_student_id := 'INVS1');
    PERFORM tests.make_student(p_sj := 1, p_student_id := 'INVS2');
    PERFORM tests.book('INVS1', 'INV1', 'inv-1');
    PERFORM tests.book('INVS2', 'INV1', 'inv-2');
    PERFORM hubspot_sync.adjust_credits('INVS1', 'sj_credits', 3, 'goodwill', 'admin');
END $$;

SELECT is_empty('SELECT * FROM mockbook_internal.check_invariants()',
                'bookings and adjustments made by the RPCs break no invariant');

-- the snapshot form: start balances + the ledger rows after a ledger id
CREATE TEMP TABLE inv_snap AS
SELECT (SELECT jsonb_object_agg(c.id, mockbook_internal.credit_balances(c))
        FROM hubspot_sync.hubspot_contact_credits AS c) AS balances,
       (SELECT max(id) FROM hubspot_sync.credit_ledger) AS after;
DO $$ BEGIN
    PERFORM tests.book('INVS1', tests.make_exam(p_hubspot_id := 'INV2',
                       p_mock_type := 'Clinical Skills'), 'inv-3', NULL, 'Right');
END $$;
SELECT is_empty('SELECT * FROM mockbook_internal.check_invariants((SELECT balances FROM inv_snap), (SELECT after FROM inv_snap))',
                'with a snapshot: balance = snapshot balance + the ledger since');

SAVEPOINT s;
UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = total_bookings + 1 WHERE hubspot_id = 'INV1';
SELECT results_eq('SELECT invariant, subject FROM mockbook_internal.check_invariants()',
                  $$VALUES ('exam_total', 'exam INV1')$$,
                  'a total_bookings that is not the Active count is exam_total');
ROLLBACK TO SAVEPOINT s;

UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = sj_credits + 5 WHERE student_id = 'INVS2';
SELECT results_eq('SELECT invariant FROM mockbook_internal.check_invariants()',
                  $$VALUES ('ledger_balance')$$,
                  'a balance changed without its ledger row is ledger_balance (whole ledger)');
SELECT results_eq(
    $$SELECT invariant, detail FROM mockbook_internal.check_invariants((SELECT balances FROM inv_snap), (SELECT after FROM inv_snap))
      WHERE subject LIKE '%sj_credits'$$,
    $$VALUES ('ledger_balance', 'balance 5, but start 0 + ledger 0 = 0')$$,
    'and against a snapshot: balance <> start + ledger since');
ROLLBACK TO SAVEPOINT s;

UPDATE hubspot_sync.credit_ledger SET balance_after = balance_after + 1
WHERE id = (SELECT min(id) FROM hubspot_sync.credit_ledger WHERE student_id = 'INVS1' AND reason = 'booking');
SELECT results_eq('SELECT invariant, subject LIKE ''%sj_credits'' FROM mockbook_internal.check_invariants()',
              $$VALUES ('ledger_chain', true)$$,
              'a ledger row that does not chain up is ledger_chain');
ROLLBACK TO SAVEPOINT s;

DELETE FROM hubspot_sync.credit_ledger
WHERE booking_id = (SELECT id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'inv-2');
SELECT results_eq('SELECT invariant FROM mockbook_internal.check_invariants() ORDER BY 1',
                  $$VALUES ('unpaid_booking')$$,
                  'an Active booking without its ledger row is unpaid_booking');
ROLLBACK TO SAVEPOINT s;

UPDATE hubspot_sync.hubspot_bookings SET idempotency_fingerprint = NULL;
DELETE FROM hubspot_sync.credit_ledger WHERE reason = 'booking';
SELECT ok(NOT EXISTS (SELECT FROM mockbook_internal.check_invariants() WHERE invariant = 'unpaid_booking'),
          'bookings without a fingerprint (the original app''s, adopted) are not unpaid_booking');
ROLLBACK TO SAVEPOINT s;

SELECT is(ARRAY(SELECT tests.invariant_violations()), '{}'::text[],
          'the pgTAP helper reads check_invariants');

SELECT * FROM finish();
ROLLBACK;
