-- reconcile_state: every row of a synced table as jsonb for the reconcile (bookings with their
-- contact's HubSpot id).
BEGIN;
SELECT plan(13);

SELECT * FROM tests.glue_function_ok('reconcile_state', ARRAY['text'], 'stable');
SELECT * FROM tests.request_roles_refused('mockbook_internal.reconcile_state(''hubspot_bookings'')');

DO $$ BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'RSX1');
    PERFORM tests.make_student(p_student_id := 'RSS1', p_hubspot_id := 'CRS1');
    PERFORM tests.seed_booking('RSS1', 'RSX1', p_hubspot_id := 'BRS1');
END $$;

SELECT is((SELECT jsonb_agg(r -> 'state' ->> 'contact_hubspot_id')
           FROM jsonb_array_elements(tests.rpc_rows('mockbook_glue',
               'mockbook_internal.reconcile_state(''hubspot_bookings'')')) r
           WHERE r ->> 'hubspot_id' = 'BRS1'), '["CRS1"]'::jsonb,
          'a booking comes with its contact''s HubSpot id (read-only, as a GET)');
SELECT is((SELECT count(*) FROM mockbook_internal.reconcile_state('hubspot_contact_credits')),
          (SELECT count(*) FROM hubspot_sync.hubspot_contact_credits), 'every contact');
SELECT is((SELECT state ->> 'capacity' FROM mockbook_internal.reconcile_state('hubspot_mock_exams')
           WHERE hubspot_id = 'RSX1'), '10', 'exams as their rows');
SELECT is((SELECT record_id FROM mockbook_internal.reconcile_state('hubspot_mock_exams')
           WHERE hubspot_id = 'RSX1'),
          (SELECT id FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'RSX1'),
          'with the record''s uuid');
SELECT throws_ok($$SELECT * FROM mockbook_internal.reconcile_state('sync_queue')$$, 'PT400',
                 'INVALID_ARGUMENT', 'only the three synced tables');

SELECT * FROM finish();
ROLLBACK;
