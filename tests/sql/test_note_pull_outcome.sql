-- note_pull_outcome: the pull's dead letters, one open row per record, closed by a clean apply.
BEGIN;
SELECT plan(13);

SELECT * FROM tests.glue_function_ok('note_pull_outcome', ARRAY['text', 'text', 'text', 'jsonb'],
                                     'volatile');
SELECT * FROM tests.request_roles_refused(
    'mockbook_internal.note_pull_outcome(''hubspot_mock_exams'', ''X'', NULL)');

SELECT lives_ok($$SELECT tests.rpc('mockbook_glue', 'mockbook_internal.note_pull_outcome('
                  '''hubspot_mock_exams'', ''NPO1'', ''bad capacity'', ''{"id": "NPO1"}'')')$$,
                'a failure is noted');
SELECT mockbook_internal.note_pull_outcome('hubspot_mock_exams', 'NPO1', 'still bad', '{"v": 2}');
SELECT is((SELECT format('%s %s %s %s %s', count(*), min(direction), min(error), min(attempts),
                         min(payload::text))
           FROM hubspot_sync.sync_errors WHERE entity_id = 'NPO1'),
          '1 pull still bad 2 {"v": 2}', 'a second failure updates the one open row');
SELECT mockbook_internal.note_pull_outcome('hubspot_mock_exams', 'NPO1', NULL);
SELECT is((SELECT format('%s %s %s', resolved, resolution, resolved_by)
           FROM hubspot_sync.sync_errors WHERE entity_id = 'NPO1'),
          't retried mockbook pull', 'a clean apply closes it');
SELECT mockbook_internal.note_pull_outcome('hubspot_mock_exams', 'NPO1', 'bad again');
SELECT is((SELECT count(*) FROM hubspot_sync.sync_errors WHERE entity_id = 'NPO1'), 2::bigint,
          'a new failure opens a new row');
SELECT throws_ok($$SELECT mockbook_internal.note_pull_outcome('', 'X', 'e')$$, 'PT400',
                 'INVALID_ARGUMENT', 'the entity is required');

SELECT * FROM finish();
ROLLBACK;
