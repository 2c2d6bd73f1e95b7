-- credit_push_claimed / credit_push_done: the outbox tells the credit merge what the push sends
-- (when it claims a contact's row) and what HubSpot then holds (when it writes back).
BEGIN;
SELECT plan(15);

SELECT is(tests.plpgsql_check_count('mockbook_internal.credit_push_claimed()',
                                    'hubspot_sync.sync_queue'), 0::bigint,
          'plpgsql_check: credit_push_claimed is clean');
SELECT is(tests.plpgsql_check_count('mockbook_internal.credit_push_done()',
                                    'hubspot_sync.hubspot_contact_credits'), 0::bigint,
          'plpgsql_check: credit_push_done is clean');
SELECT ok(NOT has_function_privilege('anon', 'mockbook_internal.credit_push_claimed()', 'EXECUTE')
          AND NOT has_function_privilege('authenticated', 'mockbook_internal.credit_push_done()',
                                         'EXECUTE'), 'the request roles cannot execute them');
SELECT trigger_is('hubspot_sync', 'sync_queue', 'credit_push_claimed', 'mockbook_internal',
                  'credit_push_claimed', 'the claim trigger is installed');
SELECT trigger_is('hubspot_sync', 'hubspot_contact_credits', 'credit_push_done', 'mockbook_internal',
                  'credit_push_done', 'the write-back trigger is installed');

UPDATE hubspot_sync.sync_queue SET done_at = now() WHERE done_at IS NULL;  -- ours alone
DO $$ BEGIN
    PERFORM tests.make_student(p_cs := 5, p_student_id := 'CPT1');
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'CPTX');
    PERFORM tests.book('CPT1', 'CPTX', 'cpt-k', p_hand := 'left');  -- 5 -> 4, queued
END $$;
CREATE TEMP TABLE c AS
    SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'CPT1';
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s', s.credits ->> 'cs_credits', s.pushing ->> 'cs_credits')
    FROM hubspot_sync.contact_credit_sync s JOIN c ON c.id = s.contact_id
$$;
SELECT is(pg_temp.state(), NULL, 'nothing is recorded before a push');

-- (the glue runs as the schema owner: claim and complete are called directly)
SELECT ok((SELECT count(*) FROM mockbook_internal.claim_sync_batch(p_worker := 'w1', p_limit := 10,
                                                            p_lease_seconds := 60)) >= 1,
          'a push claims the queued rows');
SELECT is(pg_temp.state(), '|4', 'claiming the contact records the 4 it is about to send');

-- A booking while the push is in HubSpot: the 4 sent, not the 3 now, is what HubSpot holds.
DO $$ BEGIN
    PERFORM tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''CPT1'', '
                      'p_credit_field := ''cs_credits'', p_delta := -1, p_reason := ''x'', '
                      'p_actor := ''a'')');
    PERFORM mockbook_internal.complete_sync_batch(
        'w1', (SELECT array_agg(id) FROM hubspot_sync.sync_queue WHERE lease_owner = 'w1'),
        jsonb_build_object('hubspot_contact_credits',
                           jsonb_build_object((SELECT id FROM c)::text, 'CCPT1')));
END $$;
SELECT is(tests.balance('CPT1', 'cs_credits'), 3, 'the local balance is 3');
SELECT is(pg_temp.state(), '4|', 'after the write-back the last synced value is the 4 sent');

-- A contact written back without a claim of its own: its current balance is what was sent.
DO $$ BEGIN
    PERFORM tests.make_student(p_sj := 2, p_student_id := 'CPT2');
    PERFORM mockbook_internal.complete_sync_batch('w1', '{}', jsonb_build_object(
        'hubspot_contact_credits', jsonb_build_object(
            (SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'CPT2')::text,
            'CCPT2')));
END $$;
SELECT is((SELECT s.credits ->> 'sj_credits' FROM hubspot_sync.contact_credit_sync s
           JOIN hubspot_sync.hubspot_contact_credits k ON k.id = s.contact_id
           WHERE k.student_id = 'CPT2'), '2', 'a contact pushed as a lookup records its balance');
UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_last_sync_at = now() - interval '1 day'
WHERE student_id = 'CPT1';
SELECT is(pg_temp.state(), '4|', 'an update outside the push''s write-back records nothing');

-- A push whose answer was lost (its rows given back) is retried after a local deduction: the
-- retry's claim keeps the 4 the lost attempt sent (HubSpot may hold it), not the 3 now
-- (tests/py/sync/test_push_lost_answer.py).
DO $$ BEGIN
    PERFORM tests.make_student(p_cs := 5, p_student_id := 'CPT3');
    PERFORM tests.book('CPT3', 'CPTX', 'cpt-k3', p_hand := 'left');  -- 5 -> 4, queued
END $$;
CREATE FUNCTION pg_temp.state3() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s', s.credits ->> 'cs_credits', s.pushing ->> 'cs_credits')
    FROM hubspot_sync.contact_credit_sync s
    JOIN hubspot_sync.hubspot_contact_credits k ON k.id = s.contact_id
    WHERE k.student_id = 'CPT3'
$$;
SELECT ok((SELECT count(*) FROM mockbook_internal.claim_sync_batch(p_worker := 'w2', p_limit := 10,
                                                            p_lease_seconds := 60)) >= 1,
          'the first attempt claims the contact');
DO $$ BEGIN
    PERFORM mockbook_internal.fail_sync_rows(
        'w2', (SELECT array_agg(id) FROM hubspot_sync.sync_queue WHERE lease_owner = 'w2'),
        'the answer was lost', 8, 0);
    PERFORM tests.rpc('service_role', 'hubspot_sync.adjust_credits(p_student_id := ''CPT3'', '
                      'p_credit_field := ''cs_credits'', p_delta := -1, p_reason := ''x'', '
                      'p_actor := ''a'')');
END $$;
SELECT ok((SELECT count(*) FROM mockbook_internal.claim_sync_batch(p_worker := 'w2', p_limit := 10,
                                                            p_lease_seconds := 60)) >= 1,
          'the retry claims the contact again');
SELECT is(pg_temp.state3(), '|4',
          'the retry''s claim keeps the 4 the lost attempt sent, not the balance of 3 now');

SELECT * FROM finish();
ROLLBACK;
