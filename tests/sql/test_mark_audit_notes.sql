-- mark_audit_notes: audit rows whose HubSpot note exists are marked, once.
BEGIN;
SELECT plan(11);

SELECT * FROM tests.glue_function_ok('mark_audit_notes', ARRAY['bigint[]'], 'volatile');
SELECT * FROM tests.request_roles_refused('mockbook_internal.mark_audit_notes(''{}'')');

DO $$ BEGIN PERFORM tests.make_student(p_student_id := 'MAN1'); END $$;
CREATE TEMP TABLE a AS
    SELECT id FROM hubspot_sync.supabase_audit_log WHERE synced_to_hubspot_at IS NULL
    ORDER BY id DESC LIMIT 1;
SELECT is(tests.rpc('mockbook_glue', format('mockbook_internal.mark_audit_notes(%L)',
                                           ARRAY[(SELECT id FROM a), -1])),
          '1'::jsonb, 'one row marked (an unknown id is ignored)');
SELECT isnt((SELECT synced_to_hubspot_at FROM hubspot_sync.supabase_audit_log
             WHERE id = (SELECT id FROM a)), NULL, 'synced_to_hubspot_at is set');
SELECT is(mockbook_internal.mark_audit_notes(ARRAY[(SELECT id FROM a)]), 0,
          'a marked row is not marked again');

SELECT * FROM finish();
ROLLBACK;
