-- list_dead_letters: what `mockbook dlq list` shows.
BEGIN;
SELECT plan(12);

SELECT volatility_is('mockbook_internal', 'list_dead_letters', ARRAY['boolean', 'integer'], 'stable',
                     'list_dead_letters is STABLE');
SELECT is_definer('mockbook_internal', 'list_dead_letters', ARRAY['boolean', 'integer'],
                    'list_dead_letters is SECURITY DEFINER');
SELECT function_privs_are('mockbook_internal', 'list_dead_letters', ARRAY['boolean', 'integer'], r, p,
                          format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{}'), ('mockbook_glue', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('mockbook_internal.list_dead_letters(boolean, integer)'), 0::bigint,
          'plpgsql_check: list_dead_letters is clean');
SELECT throws_ok($$SELECT tests.rpc_rows('authenticated', 'mockbook_internal.list_dead_letters()')$$,
                 '42501', NULL, 'authenticated is refused');

DELETE FROM hubspot_sync.sync_errors;
INSERT INTO hubspot_sync.sync_errors (entity_type, entity_id, direction, error, resolved)
VALUES ('hubspot_bookings', 'b1', 'push', 'first', false),
       ('hubspot_bookings', 'b2', 'push', 'second', true),
       ('hubspot_contact_credits', 'c1', 'push', 'third', false);
SELECT is(tests.rpc_rows('mockbook_glue', '(SELECT entity_id FROM mockbook_internal.list_dead_letters())'),
          '[{"entity_id": "b1"}, {"entity_id": "c1"}]'::jsonb, 'unresolved ones, oldest first');
SELECT is((SELECT array_agg(entity_id ORDER BY id) FROM mockbook_internal.list_dead_letters(true)),
          ARRAY['b1', 'b2', 'c1'], 'with p_include_resolved, all of them');
SELECT is((SELECT array_agg(entity_id) FROM mockbook_internal.list_dead_letters(true, 1)),
          ARRAY['b1'], 'at most p_limit');
SELECT throws_ok($$SELECT * FROM mockbook_internal.list_dead_letters(false, 0)$$, 'PT400',
                 'INVALID_ARGUMENT', 'a limit of 0 is refused');

SELECT * FROM finish();
ROLLBACK;
