-- update_exam_prerequisites / set_exam_prerequisites (production names and parameters): relative
-- and full changes of an exam's prerequisites, ids checked, queued for the push; and
-- apply_pulled_prerequisites (the pull): never wipes a list it was not given, keeps a local change
-- not pushed yet.
BEGIN;
SELECT plan(40);

-- Catalog and privileges ---------------------------------------------------------------------------
SELECT function_privs_are(s, f, a, r, p,
                          format('%s: EXECUTE on %s %s', r, f,
                                 CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('hubspot_sync', 'update_exam_prerequisites', ARRAY['text', 'text[]', 'text[]', 'text'], 'service_role'),
             ('hubspot_sync', 'set_exam_prerequisites', ARRAY['text', 'text[]', 'text'], 'service_role'),
             -- the pull's: the glue's role only (mockbook_internal)
             ('mockbook_internal', 'apply_pulled_prerequisites', ARRAY['jsonb', 'text'], 'mockbook_glue'))
     AS f(s, f, a, caller),
     LATERAL (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), (caller, '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count(f::regprocedure), 0::bigint, format('plpgsql_check: %s is clean', f))
FROM (VALUES ('hubspot_sync.update_exam_prerequisites(text, text[], text[], text)'),
             ('hubspot_sync.set_exam_prerequisites(text, text[], text)'),
             ('mockbook_internal.write_exam_prerequisites(text, text[])'),
             ('mockbook_internal.apply_pulled_prerequisites(jsonb, text)')) AS x(f);
SELECT is(pg_get_function_arguments('hubspot_sync.update_exam_prerequisites(text, text[], text[], text)'::regprocedure),
          'p_exam_id text, p_add_ids text[] DEFAULT ''{}''::text[], p_remove_ids text[] DEFAULT ''{}''::text[], p_idempotency_key text DEFAULT NULL::text',
          'update_exam_prerequisites has the production parameters first, then the optional key');
SELECT is(pg_get_function_arguments('hubspot_sync.set_exam_prerequisites(text, text[], text)'::regprocedure),
          'p_exam_id text, p_prerequisite_ids text[], p_idempotency_key text DEFAULT NULL::text',
          'set_exam_prerequisites has the production parameters first, then the optional key');

-- Fixtures ---------------------------------------------------------------------------------------
DO $$ BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'PRQ-D', p_mock_type := 'Mock Discussion');
    PERFORM tests.make_exam(p_hubspot_id := 'PRQ-A');
    PERFORM tests.make_exam(p_hubspot_id := 'PRQ-B');
    PERFORM tests.make_exam(p_hubspot_id := 'PRQ-C');
END $$;
DELETE FROM hubspot_sync.sync_queue;

-- update_exam_prerequisites: relative ------------------------------------------------------------
SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.update_exam_prerequisites(p_exam_id := ''PRQ-D'', p_add_ids := ''{PRQ-A}'')')$$,
                 '42501', NULL, 'anon is refused');
SELECT is(tests.rpc('service_role', 'hubspot_sync.update_exam_prerequisites(p_exam_id := ''PRQ-D'', p_add_ids := ''{PRQ-B,PRQ-A}'')')
              - 'requested_add' - 'requested_remove',
          '{"success": true, "exam_id": "PRQ-D", "prerequisite_exam_ids": ["PRQ-A", "PRQ-B"],
            "previous_prerequisite_exam_ids": [], "previous_count": 0, "current_count": 2,
            "added_count": 2, "removed_count": 0}'::jsonb,
          'adding two prerequisites');
SELECT is(tests.rpc('service_role', 'hubspot_sync.update_exam_prerequisites(p_exam_id := ''PRQ-D'', p_add_ids := ''{PRQ-C}'', p_remove_ids := ''{PRQ-A}'')') -> 'prerequisite_exam_ids',
          '["PRQ-B", "PRQ-C"]'::jsonb, 'add and remove in one call; the others are kept');
SELECT is(tests.rpc('service_role', 'hubspot_sync.update_exam_prerequisites(p_exam_id := ''PRQ-D'', p_remove_ids := ''{PRQ-X}'')') -> 'removed_count',
          '0'::jsonb, 'removing an id that is not there changes nothing');
SELECT is((SELECT prerequisite_exam_ids FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'PRQ-D'),
          '{PRQ-B,PRQ-C}'::text[], 'the list is stored');
SELECT is((SELECT count(*)::int FROM hubspot_sync.sync_queue
           WHERE table_name = 'hubspot_mock_exams'
             AND old_data -> 'prerequisite_exam_ids' IS DISTINCT FROM new_data -> 'prerequisite_exam_ids'),
          2, 'each change is queued for the push; an unchanged list queues nothing');

-- errors: documented, nothing changed
SELECT throws_ok($$SELECT hubspot_sync.update_exam_prerequisites(NULL, '{PRQ-A}')$$,
                 'PT400', 'INVALID_ARGUMENT', 'p_exam_id is required');
SELECT throws_ok($$SELECT hubspot_sync.update_exam_prerequisites('PRQ-D', '{""}')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a blank id is refused');
SELECT throws_ok($$SELECT hubspot_sync.update_exam_prerequisites('PRQ-D', '{PRQ-A}', '{PRQ-A}')$$,
                 'PT400', 'INVALID_ARGUMENT', 'an id both added and removed is refused');
SELECT throws_ok($$SELECT hubspot_sync.update_exam_prerequisites('PRQ-D', '{PRQ-D}')$$,
                 'PT400', 'INVALID_ARGUMENT', 'an exam cannot be its own prerequisite');
SELECT throws_ok($$SELECT hubspot_sync.update_exam_prerequisites('PRQ-NONE', '{PRQ-NONE}')$$,
                 'PT400', 'INVALID_ARGUMENT', 'arguments are checked before the exam is looked up');
SELECT throws_ok($$SELECT hubspot_sync.update_exam_prerequisites('PRQ-NONE', '{PRQ-A}')$$,
                 'PT404', 'EXAM_NOT_FOUND: exam not found', 'an unknown exam (the compatibility message: "not found")');
SELECT throws_like($$SELECT hubspot_sync.update_exam_prerequisites('PRQ-D', '{PRQ-A,PRQ-GONE}')$$,
                   'EXAM_NOT_FOUND: exam not found', 'an unknown prerequisite id');
SELECT is((SELECT prerequisite_exam_ids FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'PRQ-D'),
          '{PRQ-B,PRQ-C}'::text[], 'refused calls changed nothing');

-- set_exam_prerequisites: full replacement --------------------------------------------------------
SELECT is(hubspot_sync.set_exam_prerequisites('PRQ-D', '{PRQ-A,PRQ-A,PRQ-C}') - 'previous_prerequisite_exam_ids',
          '{"success": true, "exam_id": "PRQ-D", "prerequisite_exam_ids": ["PRQ-A", "PRQ-C"],
            "previous_count": 2, "current_count": 2, "added_count": 1, "removed_count": 1}'::jsonb,
          'set replaces the list (duplicates once)');
SELECT throws_ok($$SELECT hubspot_sync.set_exam_prerequisites('PRQ-D', '{PRQ-GONE}')$$,
                 'PT404', 'EXAM_NOT_FOUND: exam not found', 'set checks the ids too');
SELECT is(hubspot_sync.set_exam_prerequisites('PRQ-C', NULL) -> 'current_count', '0'::jsonb,
          'NULL clears');

-- apply_pulled_prerequisites (the pull) -----------------------------------------------------------
SELECT is(mockbook_internal.apply_pulled_prerequisites('{"PRQ-D": ["PRQ-B"]}'),
          '{"updated": 0, "unchanged": 0, "kept_local": 1, "unknown": 0, "busy": 0}'::jsonb,
          'a local change not pushed yet is kept');
UPDATE hubspot_sync.sync_queue SET done_at = now();
SELECT is(mockbook_internal.apply_pulled_prerequisites('{"PRQ-D": ["PRQ-B"], "PRQ-NEW": []}') - 'busy',
          '{"updated": 1, "unchanged": 0, "kept_local": 0, "unknown": 1}'::jsonb,
          'once pushed, HubSpot''s list applies');
SELECT is((SELECT prerequisite_exam_ids FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'PRQ-D'),
          '{PRQ-B}'::text[], 'the pulled list is stored');
SELECT is((SELECT count(*)::int FROM hubspot_sync.sync_queue WHERE done_at IS NULL), 0,
          'a pulled list is not queued back to HubSpot');
SELECT is(mockbook_internal.apply_pulled_prerequisites('{}') -> 'updated', '0'::jsonb,
          'an exam not given is left alone');
SELECT is(mockbook_internal.apply_pulled_exams(jsonb_build_array(jsonb_build_object(
              'id', 'PRQ-D', 'properties', jsonb_build_object(
                  'mock_type', 'Mock Discussion', 'exam_date', '2031-01-01', 'capacity', '10',
                  'is_active', 'true')))) -> 'errors',
          '[]'::jsonb, 'an exam record is applied');
SELECT is((SELECT prerequisite_exam_ids FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'PRQ-D'),
          '{PRQ-B}'::text[], 'an exam record without the key never wipes the list');
SELECT throws_ok($$SELECT mockbook_internal.apply_pulled_prerequisites('{"PRQ-D": "PRQ-B"}')$$,
                 'PT400', 'INVALID_ARGUMENT', 'malformed input is refused');

SELECT * FROM finish();
ROLLBACK;
