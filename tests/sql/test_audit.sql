-- The audit trail (db/triggers/row_change.sql, which also writes the outbox) and updated_at stamping (db/triggers/touch_updated_at.sql):
-- every insert, update and delete of the three synced tables is audited with exactly the changed
-- columns; bookkeeping-only updates are not; performed_by comes from mockbook.actor, else the
-- request's role claim, else current_user.
BEGIN;
SELECT plan(45);

-- Catalog ------------------------------------------------------------------------------------
SELECT trigger_is('hubspot_sync', t, 'record_row_change', 'mockbook_internal', 'record_row_change',
                  format('%s is audited', t))
FROM unnest(ARRAY['hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings']) AS t;
SELECT trigger_is('hubspot_sync', t, 'touch_updated_at', 'mockbook_internal', 'touch_updated_at',
                  format('%s stamps updated_at', t))
FROM unnest(ARRAY['hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings']) AS t;
SELECT is((SELECT count(*)::int FROM pg_trigger
           WHERE tgname = 'record_row_change' AND tgtype = (1 | 4 | 8 | 16)),
          3, 'audit triggers are AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW');
SELECT is((SELECT count(*)::int FROM pg_trigger
           WHERE tgname = 'touch_updated_at' AND tgtype = (1 | 2 | 16)),
          3, 'touch_updated_at triggers are BEFORE UPDATE FOR EACH ROW');
SELECT isnt_definer('mockbook_internal', f::name, ARRAY[]::name[], format('%s is SECURITY INVOKER', f))
FROM unnest(ARRAY['record_row_change', 'touch_updated_at']) AS f;
SELECT ok(p.proconfig @> ARRAY['search_path=""'], format('%s pins search_path', p.proname))
FROM pg_proc AS p
WHERE p.oid IN ('mockbook_internal.record_row_change()'::regprocedure,
                'mockbook_internal.touch_updated_at()'::regprocedure)
ORDER BY p.proname;
SELECT ok(NOT has_function_privilege(r, f, 'EXECUTE'), format('%s cannot execute %s', r, f))
FROM unnest(ARRAY['anon', 'authenticated']) AS r,
     unnest(ARRAY['mockbook_internal.record_row_change()', 'mockbook_internal.touch_updated_at()']) AS f;
SELECT is(tests.plpgsql_check_count('mockbook_internal.record_row_change()', t::regclass), 0::bigint,
          format('plpgsql_check: record_row_change on %s is clean', t))
FROM unnest(ARRAY['hubspot_sync.hubspot_contact_credits', 'hubspot_sync.hubspot_mock_exams',
                  'hubspot_sync.hubspot_bookings']) AS t;
SELECT is(tests.plpgsql_check_count('mockbook_internal.touch_updated_at()',
                                    'hubspot_sync.hubspot_bookings'), 0::bigint,
          'plpgsql_check: touch_updated_at is clean');

-- Fixtures (each insert is audited too) ----------------------------------------------------------
DO $$ BEGIN PERFORM tests.make_student(p_sj := 2, p_student_id := 'AUD1', p_hubspot_id := 'CAUD1'); END $$;
DO $$ BEGIN PERFORM tests.make_exam(p_hubspot_id := 'EXAUD1'); END $$;
CREATE TEMP TABLE b AS SELECT tests.seed_booking('AUD1', 'EXAUD1', p_hubspot_id := 'HBAUD1') AS id;
CREATE TEMP TABLE c AS
    SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'AUD1';
GRANT SELECT ON b, c TO service_role;

-- INSERT -------------------------------------------------------------------------------------
SELECT is((SELECT count(*)::int FROM hubspot_sync.supabase_audit_log
           WHERE table_name = 'hubspot_contact_credits' AND record_id = (SELECT id FROM c)
             AND operation = 'INSERT'),
          1, 'inserting a contact writes one INSERT audit row');
SELECT results_eq(
    $$SELECT record_hubspot_id, old_values, new_values ->> 'student_id',
             (new_values ->> 'sj_credits')::int, performed_by
      FROM hubspot_sync.supabase_audit_log
      WHERE record_id = (SELECT id FROM c) AND operation = 'INSERT'$$,
    $$VALUES ('CAUD1', NULL::jsonb, 'AUD1', 2, current_user::text COLLATE "default")$$,
    'INSERT audit: hubspot id, no old values, the whole new row, performed_by current_user');
SELECT ok((SELECT changed_fields @> '["student_id", "email", "sj_credits", "id"]'
                  AND NOT changed_fields ?| ARRAY['synced_at', 'updated_at', 'hubspot_last_sync_at',
                                                  'ndecc_exam_date']
           FROM hubspot_sync.supabase_audit_log
           WHERE record_id = (SELECT id FROM c) AND operation = 'INSERT'),
          'INSERT audit lists the columns given a value, never bookkeeping or NULL columns');
SELECT is((SELECT count(*)::int FROM hubspot_sync.supabase_audit_log
           WHERE table_name = 'hubspot_bookings' AND record_id = (SELECT id FROM b)
             AND operation = 'INSERT' AND record_hubspot_id = 'HBAUD1'),
          1, 'inserting a booking is audited with its HubSpot id');

-- UPDATE -------------------------------------------------------------------------------------
DELETE FROM hubspot_sync.supabase_audit_log;
UPDATE hubspot_sync.hubspot_bookings
SET updated_at = '2020-01-01', synced_at = '2020-01-01', hubspot_last_sync_at = '2020-01-01'
WHERE id = (SELECT id FROM b);
SELECT is((SELECT count(*)::int FROM hubspot_sync.supabase_audit_log), 0,
          'an update of synced_at, hubspot_last_sync_at and updated_at only is not audited');
SELECT is((SELECT updated_at FROM hubspot_sync.hubspot_bookings WHERE id = (SELECT id FROM b)),
          '2020-01-01'::timestamptz, 'a bookkeeping-only update keeps the updated_at it wrote');
UPDATE hubspot_sync.hubspot_bookings SET attendance = attendance WHERE id = (SELECT id FROM b);
SELECT is((SELECT count(*)::int FROM hubspot_sync.supabase_audit_log), 0,
          'an update that changes no value is not audited');
SELECT is((SELECT updated_at FROM hubspot_sync.hubspot_bookings WHERE id = (SELECT id FROM b)),
          '2020-01-01'::timestamptz, 'an update that changes no value keeps updated_at');

UPDATE hubspot_sync.hubspot_bookings
SET is_active = 'Completed', attendance = 'Yes', synced_at = now()
WHERE id = (SELECT id FROM b);
SELECT results_eq(
    $$SELECT table_name, operation, record_hubspot_id, changed_fields, old_values, new_values
      FROM hubspot_sync.supabase_audit_log$$,
    $$VALUES ('hubspot_bookings', 'UPDATE', 'HBAUD1', '["attendance", "is_active"]'::jsonb,
              '{"attendance": null, "is_active": "Active"}'::jsonb,
              '{"attendance": "Yes", "is_active": "Completed"}'::jsonb)$$,
    'UPDATE audit: exactly the changed columns with their old and new values, bookkeeping left out');
SELECT is((SELECT updated_at FROM hubspot_sync.hubspot_bookings WHERE id = (SELECT id FROM b)),
          now(), 'a real change stamps updated_at = now()');

-- The booking functions write updated_at = now() themselves: the trigger's WHEN clause
-- (NEW.updated_at IS DISTINCT FROM now()) spares the PL/pgSQL call, and updated_at is the same
--. pg_stat_xact_user_functions counts this transaction's calls.
DO $$ BEGIN PERFORM tests.make_exam(p_hubspot_id := 'EXAUDW'); END $$;
CREATE FUNCTION pg_temp.calls(p_name text) RETURNS int LANGUAGE sql AS $$
    SELECT coalesce(sum(calls), 0)::int FROM pg_stat_xact_user_functions
    WHERE schemaname = 'mockbook_internal' AND funcname = p_name $$;
SET LOCAL track_functions = 'pl';
UPDATE hubspot_sync.hubspot_mock_exams SET updated_at = '2020-01-01' WHERE hubspot_id = 'EXAUDW';
CREATE TEMP TABLE before_calls AS SELECT pg_temp.calls('touch_updated_at') AS n;
UPDATE hubspot_sync.hubspot_mock_exams SET capacity = capacity + 1, updated_at = now()
WHERE hubspot_id = 'EXAUDW';
SELECT is(pg_temp.calls('touch_updated_at') - (SELECT n FROM before_calls), 0,
          'an update that writes updated_at = now() does not call touch_updated_at');
UPDATE hubspot_sync.hubspot_mock_exams SET updated_at = '2020-01-01' WHERE hubspot_id = 'EXAUDW';
UPDATE before_calls SET n = pg_temp.calls('touch_updated_at');
UPDATE hubspot_sync.hubspot_mock_exams SET capacity = capacity + 1 WHERE hubspot_id = 'EXAUDW';
SELECT is(pg_temp.calls('touch_updated_at') - (SELECT n FROM before_calls), 1,
          'an update that leaves an older updated_at calls touch_updated_at');
SELECT is((SELECT updated_at FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'EXAUDW'),
          now(), '... which stamps updated_at = now()');
DO $$ BEGIN PERFORM tests.make_student(p_student_id := 'AUD2');
           PERFORM tests.seed_booking('AUD2', 'EXAUDW', p_hubspot_id := 'HBAUD2'); END $$;
SELECT is(pg_temp.calls('require_booking_code'), 0,
          'a booking inserted with its code does not call require_booking_code (WHEN clause)');
SET LOCAL track_functions = 'none';

-- performed_by ---------------------------------------------------------------------------------
DELETE FROM hubspot_sync.supabase_audit_log;
DO $$ BEGIN PERFORM set_config('mockbook.actor', 'admin@example.com', true); END $$;
UPDATE hubspot_sync.hubspot_contact_credits SET firstname = 'Renamed' WHERE student_id = 'AUD1';
DO $$ BEGIN PERFORM set_config('mockbook.actor', '', true); END $$;
SELECT results_eq(
    $$SELECT performed_by, changed_fields FROM hubspot_sync.supabase_audit_log$$,
    $$VALUES ('admin@example.com', '["firstname"]'::jsonb)$$,
    'performed_by is the mockbook.actor setting when set');

DELETE FROM hubspot_sync.supabase_audit_log;
-- (service_role may not UPDATE the table itself: it changes the capacity through the API)
DO $$ BEGIN PERFORM tests.rpc('service_role', 'hubspot_sync.set_exam_capacity(''EXAUD1'', 12)'); END $$;
SELECT results_eq(
    $$SELECT performed_by, changed_fields, old_values, new_values
      FROM hubspot_sync.supabase_audit_log$$,
    $$VALUES ('service_role', '["capacity"]'::jsonb, '{"capacity": 10}'::jsonb,
              '{"capacity": 12}'::jsonb)$$,
    'without an actor, performed_by is the request''s role claim (service_role through set_exam_capacity)');

DELETE FROM hubspot_sync.supabase_audit_log;
DO $$ BEGIN PERFORM set_config('mockbook.actor', 'ops@example.com', true); END $$;
DO $$ BEGIN PERFORM mockbook_internal.apply_credit_delta((SELECT id FROM c), 'sj_credits', -1, 'admin_adjustment'); END $$;
DO $$ BEGIN PERFORM set_config('mockbook.actor', '', true); END $$;
SELECT results_eq(
    $$SELECT table_name, performed_by, changed_fields, old_values, new_values
      FROM hubspot_sync.supabase_audit_log$$,
    $$VALUES ('hubspot_contact_credits', 'ops@example.com', '["sj_credits"]'::jsonb,
              '{"sj_credits": 2}'::jsonb, '{"sj_credits": 1}'::jsonb)$$,
    'a credit change is audited as the one changed field, actor before role claim');

-- performed_by for every shape of claims: the trigger calls request_actor only where the claims
-- name a user, and writes what request_actor, then the actor, then the role claim give
CREATE TEMP TABLE claim_shapes (claims text, actor text, expected text);
INSERT INTO claim_shapes VALUES
    ('{"role": "service_role", "sub": null}', 'job:a', 'job:a'),
    ('{"role": "service_role", "sub": null}', '', 'service_role'),
    ('{"role": "authenticated", "sub": "  ", "email": ""}', 'job:b', 'job:b'),
    ('{"role": "authenticated", "sub": "u-1"}', 'job:c', 'user:u-1'),
    ('{"role": "authenticated", "sub": null, "email": "ann@example.com"}', '', 'user:ann@example.com'),
    ('{"role": "authenticated", "email": " bob@example.com ", "app_metadata": {"role": "admin"}}', 'job:d', 'admin:bob@example.com'),
    ('["sub", "email"]', 'job:e', 'job:e'),
    ('{"sub": {"id": 1}}', '', 'user:{"id": 1}'),
    ('', 'job:f', 'job:f');
CREATE TEMP TABLE claim_results (claims text, actor text, expected text, performed_by text,
                                 by_request_actor text);
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT * FROM claim_shapes LOOP
        DELETE FROM hubspot_sync.supabase_audit_log;
        PERFORM set_config('request.jwt.claims', v.claims, true);
        PERFORM set_config('mockbook.actor', v.actor, true);
        UPDATE hubspot_sync.hubspot_contact_credits SET lastname = md5(v.claims || v.actor)
        WHERE student_id = 'AUD1';
        INSERT INTO claim_results
        SELECT v.claims, v.actor, v.expected, a.performed_by,
               coalesce(mockbook_internal.request_actor(nullif(v.actor, '')), nullif(v.actor, ''),
                        nullif(nullif(v.claims, '')::jsonb ->> 'role', ''), current_user)
        FROM hubspot_sync.supabase_audit_log AS a;
    END LOOP;
    PERFORM set_config('request.jwt.claims', '', true);
    PERFORM set_config('mockbook.actor', '', true);
END $$;
SELECT is((SELECT count(*)::int FROM claim_results WHERE performed_by = expected),
          (SELECT count(*)::int FROM claim_shapes),
          'performed_by for claims with a null, blank or real sub or email, an array, none');
SELECT is((SELECT count(*)::int FROM claim_results
           WHERE performed_by IS DISTINCT FROM by_request_actor), 0,
          'performed_by is request_actor, then the actor, then the role claim, for every shape');

-- DELETE -------------------------------------------------------------------------------------
DELETE FROM hubspot_sync.supabase_audit_log;
DELETE FROM hubspot_sync.hubspot_bookings WHERE id = (SELECT id FROM b);
SELECT results_eq(
    $$SELECT table_name, operation, record_id, record_hubspot_id, new_values,
             old_values ->> 'is_active', old_values ->> 'attendance'
      FROM hubspot_sync.supabase_audit_log$$,
    $$SELECT 'hubspot_bookings', 'DELETE', (SELECT id FROM b), 'HBAUD1', NULL::jsonb,
             'Completed', 'Yes'$$,
    'DELETE audit: the whole old row, no new values');
SELECT ok((SELECT changed_fields @> '["booking_id", "is_active", "attendance", "student_id"]'
                  AND NOT changed_fields ?| ARRAY['synced_at', 'updated_at', 'dominant_hand']
           FROM hubspot_sync.supabase_audit_log),
          'DELETE audit lists the columns that held a value, never bookkeeping or NULL columns');
SELECT is((SELECT old_values ->> 'booking_id' FROM hubspot_sync.supabase_audit_log) LIKE 'BK-T-%',
          true, 'DELETE audit keeps the deleted booking code');

-- Exams too, and one audit row per row of a multi-row statement -----------------------------------
DELETE FROM hubspot_sync.supabase_audit_log;
DO $$ BEGIN PERFORM tests.make_exam(p_hubspot_id := 'EXAUD2'); END $$;
UPDATE hubspot_sync.hubspot_mock_exams SET location = 'calgary'
WHERE hubspot_id IN ('EXAUD1', 'EXAUD2');
SELECT results_eq(
    $$SELECT record_hubspot_id, operation, changed_fields FROM hubspot_sync.supabase_audit_log
      ORDER BY operation, record_hubspot_id$$,
    $$VALUES ('EXAUD2', 'INSERT', (SELECT changed_fields FROM hubspot_sync.supabase_audit_log
                                   WHERE operation = 'INSERT')),
             ('EXAUD1', 'UPDATE', '["location"]'::jsonb),
             ('EXAUD2', 'UPDATE', '["location"]'::jsonb)$$,
    'exam insert and a two-row update are audited row by row');
SELECT is((SELECT count(*)::int FROM hubspot_sync.supabase_audit_log
           WHERE performed_at = now() AND synced_to_hubspot_at = now()), 3,
          'audit rows are stamped now(); an exam''s are written as handled (never a HubSpot note)');
SELECT is((SELECT max(updated_at) FROM hubspot_sync.hubspot_mock_exams
           WHERE hubspot_id IN ('EXAUD1', 'EXAUD2')), now(), 'exam updates stamp updated_at');

SELECT * FROM finish();
ROLLBACK;
