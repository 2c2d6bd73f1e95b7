-- save_sync_cursor: saves a job's position (a JSON object), creating its row when missing.
BEGIN;
SELECT plan(14);

SELECT * FROM tests.glue_function_ok('save_sync_cursor', ARRAY['text', 'jsonb'], 'volatile');
SELECT * FROM tests.request_roles_refused(
    'mockbook_internal.save_sync_cursor(''pull:x'', ''{}'')');

DELETE FROM hubspot_sync.sync_metadata WHERE sync_type = 'pull:ssc';
SELECT lives_ok($$SELECT tests.rpc('mockbook_glue',
                  'mockbook_internal.save_sync_cursor(''pull:ssc'', ''{"since_ms": 1}'')')$$,
                'service_role saves a cursor');
SELECT is((SELECT cursor FROM hubspot_sync.sync_metadata WHERE sync_type = 'pull:ssc'),
          '{"since_ms": 1}'::jsonb, 'the row is created');
SELECT mockbook_internal.record_sync_run('pull:ssc', 'success', 5);
SELECT lives_ok($$SELECT mockbook_internal.save_sync_cursor('pull:ssc', '{"since_ms": 2}')$$,
                'saved again');
SELECT is((SELECT format('%s %s %s', cursor, last_sync_status, records_synced)
           FROM hubspot_sync.sync_metadata WHERE sync_type = 'pull:ssc'),
          '{"since_ms": 2} success 5', 'the cursor changes, the run bookkeeping stays');
SELECT throws_ok($$SELECT mockbook_internal.save_sync_cursor('pull:ssc', '[1]')$$, 'PT400',
                 'INVALID_ARGUMENT', 'a cursor must be a JSON object');
SELECT throws_ok($$SELECT mockbook_internal.save_sync_cursor('', '{}')$$, 'PT400',
                 'INVALID_ARGUMENT', 'a sync type is required');

SELECT * FROM finish();
ROLLBACK;
