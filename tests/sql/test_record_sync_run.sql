-- record_sync_run: the glue's runs in sync_metadata, as sync_health reads them.
BEGIN;
SELECT plan(12);

SELECT volatility_is('mockbook_internal', 'record_sync_run', ARRAY['text', 'text', 'integer', 'text'],
                     'volatile', 'record_sync_run is VOLATILE');
SELECT is_definer('mockbook_internal', 'record_sync_run', ARRAY['text', 'text', 'integer', 'text'],
                    'record_sync_run is SECURITY DEFINER');
SELECT function_privs_are('mockbook_internal', 'record_sync_run', ARRAY['text', 'text', 'integer', 'text'],
                          r, p,
                          format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{}'), ('mockbook_glue', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('mockbook_internal.record_sync_run(text, text, integer, text)'),
          0::bigint, 'plpgsql_check: record_sync_run is clean');
SELECT throws_ok($$SELECT tests.rpc('anon', 'mockbook_internal.record_sync_run(''push'', ''success'')')$$,
                 '42501', NULL, 'anon is refused');

DELETE FROM hubspot_sync.sync_metadata WHERE sync_type = 'push';
SELECT tests.rpc('mockbook_glue', 'mockbook_internal.record_sync_run(p_sync_type := ''push'', '
                 'p_status := ''failed'', p_records := 3, p_error := ''token refused'')');
SELECT is((SELECT last_push_at FROM hubspot_sync.sync_health), NULL,
          'a failed push is not a successful push for sync_health');
SELECT tests.rpc('mockbook_glue', 'mockbook_internal.record_sync_run(p_sync_type := ''push'', '
                 'p_status := ''success'', p_records := 7)');
SELECT is((SELECT format('%s %s %s', last_sync_status, records_synced, coalesce(error_message, '-'))
           FROM hubspot_sync.sync_metadata WHERE sync_type = 'push'), 'success 7 -',
          'the row is updated in place');
SELECT ok((SELECT last_push_at = now() FROM hubspot_sync.sync_health),
          'sync_health shows the successful push');
SELECT throws_ok($$SELECT mockbook_internal.record_sync_run('push', 'partial')$$, 'PT400',
                 'INVALID_ARGUMENT', 'an unknown status is refused');

SELECT * FROM finish();
ROLLBACK;
