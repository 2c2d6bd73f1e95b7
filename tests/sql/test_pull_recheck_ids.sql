-- pull_recheck_ids: records the pull reads again by id (open pull dead letters, and those a
-- person retried since the previous pass).
BEGIN;
SELECT plan(9);

SELECT * FROM tests.glue_function_ok('pull_recheck_ids', ARRAY['text', 'timestamp with time zone'], 'stable',
                                     false);
SELECT * FROM tests.request_roles_refused(
    'mockbook_internal.pull_recheck_ids(''hubspot_mock_exams'')');

DELETE FROM hubspot_sync.sync_errors;
INSERT INTO hubspot_sync.sync_errors (entity_type, entity_id, direction, error, resolved,
                                      resolved_at, resolved_by, resolution)
VALUES ('hubspot_mock_exams', 'R1', 'pull', 'open', false, NULL, NULL, NULL),
       ('hubspot_mock_exams', 'R2', 'pull', 'retried by a person', true, now(), 'ops', 'retried'),
       ('hubspot_mock_exams', 'R3', 'pull', 'closed by the pull', true, now(), 'mockbook pull',
        'retried'),
       ('hubspot_mock_exams', 'R4', 'pull', 'discarded', true, now(), 'ops', 'discarded'),
       ('hubspot_mock_exams', 'R5', 'pull', 'retried long ago', true, now() - interval '2 days',
        'ops', 'retried'),
       ('hubspot_mock_exams', 'R6', 'push', 'a push error', false, NULL, NULL, NULL),
       ('hubspot_contact_credits', 'R7', 'pull', 'another table', false, NULL, NULL, NULL);

SELECT is(tests.rpc_rows('mockbook_glue', format('mockbook_internal.pull_recheck_ids(%L, %L)',
                                                'hubspot_mock_exams', now() - interval '1 day')),
          '["R1", "R2"]'::jsonb,
          'open pull dead letters, and those a person retried since the last pass');
SELECT results_eq($$SELECT * FROM mockbook_internal.pull_recheck_ids('hubspot_mock_exams')$$,
                  $$VALUES ('R1'), ('R2'), ('R5')$$, 'without a previous pass: every retried one');

SELECT * FROM finish();
ROLLBACK;
