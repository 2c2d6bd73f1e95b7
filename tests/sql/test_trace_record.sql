-- trace_record: one record's story for `mockbook trace`, readable by the glue's role alone.
BEGIN;
SELECT plan(20);

SELECT volatility_is('mockbook_internal', 'trace_record', ARRAY['text', 'uuid', 'integer'],
                     'stable', 'trace_record is STABLE');
SELECT is_definer('mockbook_internal', 'trace_record', ARRAY['text', 'uuid', 'integer'],
                  'trace_record is SECURITY DEFINER');
SELECT function_privs_are('mockbook_internal', 'trace_record', ARRAY['text', 'uuid', 'integer'],
                          r, p, format('%s: EXECUTE %s', r,
                                       CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{}'),
             ('mockbook_glue', '{EXECUTE}')) AS v(r, p);
SELECT is(tests.plpgsql_check_count('mockbook_internal.trace_record(text, uuid, integer)'),
          0::bigint, 'plpgsql_check: trace_record is clean');

DO $$
BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'TRX1');
    PERFORM tests.make_student(p_sj := 2, p_student_id := 'TRS1');
    PERFORM tests.book('TRS1', 'TRX1', 'trace-1');
END
$$;
CREATE TEMP TABLE b ON COMMIT DROP AS
SELECT id FROM hubspot_sync.hubspot_bookings WHERE student_id = 'TRS1';
GRANT SELECT ON b TO mockbook_glue;

SELECT is(tests.rpc_rows('mockbook_glue',
              format('(SELECT mockbook_internal.trace_record(''hubspot_bookings'', %L) -> '
                     '''ledger'' -> 0 ->> ''reason'' AS reason)', (SELECT id FROM b))),
          '[{"reason": "booking"}]'::jsonb, 'the glue reads a booking''s ledger row through it');
SELECT is((SELECT jsonb_array_length(mockbook_internal.trace_record('hubspot_bookings', b.id) -> 'audit')
           FROM b), 1, 'its audit row (the INSERT)');
SELECT is((SELECT mockbook_internal.trace_record('hubspot_bookings', b.id) -> 'outbox' -> 0 ->> 'operation'
           FROM b), 'INSERT', 'its outbox row');
SELECT is((SELECT mockbook_internal.trace_record('hubspot_bookings', b.id) -> 'exam' ->> 'hubspot_id'
           FROM b), 'TRX1', 'its exam');
SELECT is((SELECT mockbook_internal.trace_record('hubspot_bookings', b.id) -> 'contact' ->> 'student_id'
           FROM b), 'TRS1', 'its student');
SELECT is((SELECT mockbook_internal.trace_record('hubspot_contact_credits', c.id) -> 'bookings'
                  -> 0 ->> 'booking_id'
           FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = 'TRS1'),
          (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE student_id = 'TRS1'),
          'a student''s bookings');
SELECT is((SELECT mockbook_internal.trace_record('hubspot_mock_exams', e.id)
                  -> 'bookings_by_status'
           FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = 'TRX1'),
          '{"Active": 1}'::jsonb, 'an exam''s bookings by status');

-- a pull's dead letter names the HubSpot id, a push's the record's uuid: both are its letters
INSERT INTO hubspot_sync.sync_errors (entity_type, entity_id, direction, error)
SELECT 'hubspot_contact_credits', c.hubspot_id, 'pull', 'CREDIT_JUMP: test'
FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = 'TRS1'
UNION ALL
SELECT 'hubspot_contact_credits', c.id::text, 'push', 'PROPERTY_DOESNT_EXIST: test'
FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = 'TRS1';
SELECT is((SELECT jsonb_array_length(mockbook_internal.trace_record('hubspot_contact_credits', c.id)
                                     -> 'errors')
           FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = 'TRS1'),
          2, 'the student''s pull and push letters');
SELECT is((SELECT jsonb_array_length(mockbook_internal.trace_record('hubspot_bookings', b.id, 1)
                                     -> 'audit')
           FROM b), 1, 'p_limit 1: one row, and one more only when there are more');

SELECT is(mockbook_internal.trace_record('hubspot_bookings', gen_random_uuid()), NULL,
          'no such row: NULL');
SELECT throws_ok($$SELECT mockbook_internal.trace_record('sync_queue', gen_random_uuid())$$,
                 'PT400', 'INVALID_ARGUMENT', 'another table is refused');
SELECT throws_ok($$SELECT mockbook_internal.trace_record('hubspot_bookings', NULL)$$,
                 'PT400', 'INVALID_ARGUMENT', 'no id is refused');
SELECT throws_ok($$SELECT mockbook_internal.trace_record('hubspot_bookings', gen_random_uuid(), 0)$$,
                 'PT400', 'INVALID_ARGUMENT', 'a limit of 0 is refused');

SELECT * FROM finish();
ROLLBACK;
