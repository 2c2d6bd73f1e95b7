-- record_credit_push: what the push sends (before the call) and what HubSpot accepted (after).
BEGIN;
SELECT plan(18);

SELECT * FROM tests.glue_function_ok('record_credit_push', ARRAY['jsonb', 'boolean'], 'volatile');
SELECT * FROM tests.request_roles_refused('mockbook_internal.record_credit_push(''{}'')');

DO $$ BEGIN PERFORM tests.make_student(p_cs := 4, p_student_id := 'RCP1'); END $$;
CREATE TEMP TABLE c AS
    SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'RCP1';
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s|%s|%s', s.credits, s.pushing, s.source)
    FROM hubspot_sync.contact_credit_sync s JOIN c ON c.id = s.contact_id
$$;

SELECT is(tests.rpc('mockbook_glue', format('mockbook_internal.record_credit_push(%L, false)',
              jsonb_build_object((SELECT id FROM c)::text, '{"cs_credits": 4}'::jsonb))),
          '1'::jsonb, 'before the call: one contact recorded');
SELECT is(pg_temp.state(), '{}|{"cs_credits": 4}|push', 'the values are being sent (pushing)');
SELECT is(tests.rpc('mockbook_glue', format('mockbook_internal.record_credit_push(%L, true)',
              jsonb_build_object((SELECT id FROM c)::text, '{"cs_credits": 4, "sj_credits": 0}'::jsonb,
                                 gen_random_uuid()::text, '{"cs_credits": 1}'::jsonb))),
          '1'::jsonb, 'after the call: recorded (an unknown contact is ignored)');
SELECT is(pg_temp.state(), '{"cs_credits": 4, "sj_credits": 0}||push',
          'they are the last synced values; nothing is being sent any more');
SELECT is(tests.rpc('mockbook_glue', format('mockbook_internal.record_credit_push(%L)',
              jsonb_build_object((SELECT id FROM c)::text, '{"cs_credits": 3}'::jsonb))),
          '1'::jsonb, 'p_sent defaults to true');
SELECT is(pg_temp.state(), '{"cs_credits": 3, "sj_credits": 0}||push',
          'a later push updates only the fields it sent');

SELECT throws_ok(format($$SELECT mockbook_internal.record_credit_push(%L)$$,
                        jsonb_build_object((SELECT id FROM c)::text, '{"cs_credits": -1}'::jsonb)),
                 'PT400', 'INVALID_ARGUMENT', 'a negative value is refused');
SELECT throws_ok(format($$SELECT mockbook_internal.record_credit_push(%L)$$,
                        jsonb_build_object((SELECT id FROM c)::text, '{"gold": 1}'::jsonb)),
                 'PT400', 'INVALID_ARGUMENT', 'an unknown field is refused');
SELECT throws_ok($$SELECT mockbook_internal.record_credit_push('{"not-a-uuid": {}}')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a key that is not a contact uuid is refused');
SELECT is(pg_temp.state(), '{"cs_credits": 3, "sj_credits": 0}||push',
          'refused calls change nothing');

SELECT * FROM finish();
ROLLBACK;
