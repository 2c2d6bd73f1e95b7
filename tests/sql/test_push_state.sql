-- push_state: the current rows of the records a push sends (bookings with their contact).
BEGIN;
SELECT plan(14);
SELECT tests.isolate();  -- other tests of the run may have committed bookings

SELECT volatility_is('mockbook_internal', 'push_state', ARRAY['text', 'uuid[]'], 'stable',
                     'push_state is STABLE');
SELECT is_definer('mockbook_internal', 'push_state', ARRAY['text', 'uuid[]'],
                    'push_state is SECURITY DEFINER');
SELECT function_privs_are('mockbook_internal', 'push_state', ARRAY['text', 'uuid[]'], r, p,
                          format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{}'), ('mockbook_glue', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('mockbook_internal.push_state(text, uuid[])'), 0::bigint,
          'plpgsql_check: push_state is clean');

CREATE TEMP TABLE t_ids ON COMMIT DROP AS
SELECT tests.make_exam(p_hubspot_id := 'EXPS1') AS exam,
       tests.make_student(p_sj := 2, p_student_id := 'PS1', p_hubspot_id := 'HCPS1') AS student;
GRANT SELECT ON t_ids TO PUBLIC;
DO $$ BEGIN PERFORM tests.book('PS1', 'EXPS1', 'k-ps1'); END $$;
UPDATE hubspot_sync.hubspot_bookings SET name = 'renamed' WHERE student_id = 'PS1';

SELECT throws_ok($$SELECT tests.rpc_rows('anon', 'mockbook_internal.push_state(''hubspot_bookings'', ''{}'')')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc_rows('authenticated', 'mockbook_internal.push_state(''hubspot_bookings'', ''{}'')')$$,
                 '42501', NULL, 'authenticated is refused');

SELECT is(tests.rpc_rows('mockbook_glue', format(
              $$(SELECT state ->> 'name' AS name, state ->> 'booking_id' IS NOT NULL AS coded,
                        state ->> 'contact_hubspot_id' AS contact,
                        state ->> 'contact_email' AS email
                 FROM mockbook_internal.push_state(p_table := 'hubspot_bookings',
                                              p_record_ids := %L))$$,
              ARRAY(SELECT id FROM hubspot_sync.hubspot_bookings))),
          '[{"name": "renamed", "coded": true, "contact": "HCPS1", "email": "ps1@example.com"}]'::jsonb,
          'a booking: its current row, with its contact''s HubSpot id and email');
SELECT is((SELECT (state ->> 'sj_credits')::integer FROM mockbook_internal.push_state(
               'hubspot_contact_credits',
               ARRAY(SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'PS1'))),
          1, 'a contact: its current balances');
SELECT is((SELECT (state ->> 'total_bookings')::integer FROM mockbook_internal.push_state(
               'hubspot_mock_exams',
               ARRAY(SELECT id FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'EXPS1'))),
          1, 'an exam: its current total');
SELECT is((SELECT count(*) FROM mockbook_internal.push_state(
               'hubspot_bookings', ARRAY[gen_random_uuid()]))::integer, 0,
          'a record that no longer exists is absent');
SELECT throws_ok($$SELECT * FROM mockbook_internal.push_state('sync_queue', '{}')$$, 'PT400',
                 'INVALID_ARGUMENT', 'an unknown table is refused');

SELECT * FROM finish();
ROLLBACK;
