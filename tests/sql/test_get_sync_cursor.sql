-- get_sync_cursor: the saved position of one of the glue's jobs, {} when none.
BEGIN;
SELECT plan(9);

SELECT * FROM tests.glue_function_ok('get_sync_cursor', ARRAY['text'], 'stable', false);
SELECT * FROM tests.request_roles_refused('mockbook_internal.get_sync_cursor(''pull:exams'')');

DELETE FROM hubspot_sync.sync_metadata WHERE sync_type = 'pull:gsc';
SELECT is(tests.rpc('mockbook_glue', 'mockbook_internal.get_sync_cursor(''pull:gsc'')', 'GET'),
          '{}'::jsonb, 'no row: {}');
INSERT INTO hubspot_sync.sync_metadata (sync_type, cursor) VALUES ('pull:gsc', '{"since_ms": 42}');
SELECT is(tests.rpc('mockbook_glue', 'mockbook_internal.get_sync_cursor(''pull:gsc'')', 'GET'),
          '{"since_ms": 42}'::jsonb, 'the saved cursor, read-only (GET)');

SELECT * FROM finish();
ROLLBACK;
