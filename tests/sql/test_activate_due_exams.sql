-- activate_due_exams: scheduled exams become active once their activation time has passed.
BEGIN;
SELECT plan(13);

SELECT * FROM tests.glue_function_ok('activate_due_exams', ARRAY['text'], 'volatile');
SELECT * FROM tests.request_roles_refused('mockbook_internal.activate_due_exams()');

DO $$ BEGIN
    PERFORM mockbook_internal.activate_due_exams();  -- whatever the shared database already holds
    PERFORM tests.make_exam(p_hubspot_id := 'ADX1', p_is_active := 'scheduled',
                            p_scheduled_activation_datetime := now() - interval '1 minute');
    PERFORM tests.make_exam(p_hubspot_id := 'ADX2', p_is_active := 'Scheduled',
                            p_scheduled_activation_datetime := now() - interval '1 day');
    PERFORM tests.make_exam(p_hubspot_id := 'ADX3', p_is_active := 'scheduled',
                            p_scheduled_activation_datetime := now() + interval '1 hour');
    PERFORM tests.make_exam(p_hubspot_id := 'ADX4', p_is_active := 'scheduled');
END $$;
UPDATE hubspot_sync.sync_queue SET done_at = now() WHERE done_at IS NULL;

SELECT is(tests.rpc('mockbook_glue', 'mockbook_internal.activate_due_exams(p_actor := ''hubspot:pull'')'),
          '2'::jsonb, 'the two due exams are activated');
SELECT results_eq($$SELECT hubspot_id, is_active FROM hubspot_sync.hubspot_mock_exams
                    WHERE hubspot_id LIKE 'ADX%' ORDER BY 1$$,
                  $$VALUES ('ADX1', 'true'), ('ADX2', 'true'), ('ADX3', 'scheduled'),
                           ('ADX4', 'scheduled')$$,
                  'a future or timeless scheduled exam stays scheduled');
SELECT is((SELECT count(*) FROM hubspot_sync.sync_queue WHERE done_at IS NULL), 0::bigint,
          'nothing is queued to HubSpot (it owns exams)');
SELECT is((SELECT array_agg(DISTINCT performed_by) FROM hubspot_sync.supabase_audit_log a
           JOIN hubspot_sync.hubspot_mock_exams e ON e.id = a.record_id
           WHERE e.hubspot_id IN ('ADX1', 'ADX2') AND a.operation = 'UPDATE'),
          ARRAY['hubspot:pull'], 'audited as the pull');
SELECT is(mockbook_internal.activate_due_exams(), 0, 'a second call has nothing to do');

SELECT * FROM finish();
ROLLBACK;
