-- apply_pulled_exams: HubSpot's exams applied record by record (insert, update, archived ->
-- deactivated, scheduled and due -> active), a capacity below the Active bookings stored and listed, malformed
-- records reported and dead-lettered without changing anything.
BEGIN;
SELECT plan(35);

SELECT * FROM tests.glue_function_ok('apply_pulled_exams', ARRAY['jsonb', 'text'], 'volatile');
SELECT * FROM tests.request_roles_refused('mockbook_internal.apply_pulled_exams(''[]'')');

CREATE TEMP TABLE r (n int PRIMARY KEY, result jsonb);
GRANT ALL ON r TO PUBLIC;
CREATE FUNCTION pg_temp.apply(p_records jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT tests.rpc('mockbook_glue', format(
        'mockbook_internal.apply_pulled_exams(p_exams := %L, p_actor := %L)', p_records, 'hubspot:pull'))
$$;

INSERT INTO r VALUES (1, pg_temp.apply(jsonb_build_array(
    tests.hs_exam('PX1'),
    tests.hs_exam('PX2', '{"is_active": "scheduled",
                           "scheduled_activation_datetime": "2020-01-01T08:00:00Z",
                           "prerequisite_exam_ids": "PX1; PX9"}'),
    tests.hs_exam('PX3', '{"is_active": "Scheduled",
                           "scheduled_activation_datetime": "4102444800000"}'))));
SELECT is((SELECT result - 'errors' - 'retry' - 'capacity_refused' - 'capacity_cut' - 'bookings_cancelled' - 'bookings_moved' - 'conflicts' - 'time_problems' FROM r WHERE n = 1),
          '{"inserted": 3, "updated": 0, "unchanged": 0, "deactivated": 0}'::jsonb,
          'three new exams are inserted');
SELECT results_eq(
    $$SELECT hubspot_id, mock_type, exam_date, capacity, total_bookings, is_active,
             prerequisite_exam_ids, mock_set::text
      FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id LIKE 'PX%' ORDER BY hubspot_id$$,
    $$VALUES ('PX1', 'Clinical Skills', '2031-03-01'::date, 10, 0, 'true', '{}'::text[], 'A'),
             ('PX2', 'Clinical Skills', '2031-03-01'::date, 10, 0, 'true', '{PX1,PX9}', 'A'),
             ('PX3', 'Clinical Skills', '2031-03-01'::date, 10, 0, 'scheduled', '{}', 'A')$$,
    'columns come from the HubSpot properties; a due scheduled exam is stored active');
SELECT is((SELECT scheduled_activation_datetime FROM hubspot_sync.hubspot_mock_exams
           WHERE hubspot_id = 'PX3'), '2100-01-01 00:00:00+00'::timestamptz,
          'an epoch-millisecond date-time is read as one');
SELECT is((SELECT count(*) FROM hubspot_sync.sync_queue q
           JOIN hubspot_sync.hubspot_mock_exams e ON e.id = q.record_id
           WHERE e.hubspot_id LIKE 'PX%'), 0::bigint,
          'pulled exams are not queued back to HubSpot');
SELECT is((SELECT array_agg(DISTINCT a.performed_by) FROM hubspot_sync.supabase_audit_log a
           JOIN hubspot_sync.hubspot_mock_exams e ON e.id = a.record_id
           WHERE e.hubspot_id LIKE 'PX%'), ARRAY['hubspot:pull'],
          'they are audited as the pull');

-- Three Active bookings on PX1; HubSpot then asks for 2 seats and a new name.
DO $$ BEGIN
    PERFORM tests.make_student(p_cs := 1, p_student_id := 'PXS' || i) FROM generate_series(1, 3) i;
    PERFORM tests.book('PXS' || i, 'PX1', 'pxk' || i, p_hand := 'left') FROM generate_series(1, 3) i;
END $$;
INSERT INTO r VALUES (2, pg_temp.apply(jsonb_build_array(
    tests.hs_exam('PX1', '{"capacity": "2", "mock_exam_name": "renamed"}'),
    tests.hs_exam('PX2', '{"capacity": "30", "location": "calgary", "is_active": "true"}'),
    tests.hs_exam('PX3', '{"is_active": "Scheduled",
                           "scheduled_activation_datetime": "4102444800000"}'))));
SELECT is((SELECT result - 'errors' - 'retry' - 'capacity_refused' - 'capacity_cut' - 'bookings_cancelled' - 'bookings_moved' - 'conflicts' - 'time_problems' FROM r WHERE n = 2),
          '{"inserted": 0, "updated": 2, "unchanged": 1, "deactivated": 0}'::jsonb,
          'two exams changed, one did not');
SELECT is((SELECT result -> 'capacity_cut' FROM r WHERE n = 2),
          '[{"id": "PX1", "capacity": 2, "previous_capacity": 10, "active_bookings": 3}]'::jsonb,
          'a capacity below the 3 Active bookings is stored and reported');
SELECT is((SELECT format('%s %s %s', capacity, mock_exam_name, total_bookings)
           FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'PX1'), '2 renamed 3',
          '... as HubSpot says, the bookings kept, the other fields applied');
SELECT is((SELECT format('%s %s', capacity, location) FROM hubspot_sync.hubspot_mock_exams
           WHERE hubspot_id = 'PX2'), '30 calgary', 'a capacity above the bookings is applied');
SELECT is((SELECT count(*) FROM hubspot_sync.booking_conflicts
           WHERE mock_exam_id = 'PX1' AND rule = 'capacity_cut' AND resolved_at IS NULL),
          3::bigint, 'each kept booking is listed for admins, and nothing is dead-lettered');
-- Malformed records: each reported alone; nothing of theirs changes.
INSERT INTO r VALUES (3, pg_temp.apply(jsonb_build_array(
    tests.hs_exam('PX2', '{"capacity": "thirty", "location": "vancouver"}'),
    tests.hs_exam('PX4', '{"mock_type": "Astrology"}'),
    tests.hs_exam('PX5', '{"exam_date": ""}'),
    tests.hs_exam('PX6', '{"is_active": "maybe"}'),
    tests.hs_exam('PX7', '{"mock_set": "Z"}'),
    '{"properties": {}}'::jsonb,
    tests.hs_exam('PX8'))));
SELECT is((SELECT jsonb_array_length(result -> 'errors') FROM r WHERE n = 3), 6,
          'six malformed records are reported');
SELECT is((SELECT (result ->> 'inserted')::int FROM r WHERE n = 3), 1,
          '... and the good one among them is applied');
SELECT matches((SELECT string_agg(e ->> 'error', ' | ' ORDER BY e ->> 'id')
                FROM r, jsonb_array_elements(result -> 'errors') e WHERE n = 3),
               'capacity is not a whole number.*unknown mock type.*missing property exam_date'
               '.*is_active is not true.*mock_set is not one of A-H',
               'each error names the property and the value');
SELECT is((SELECT location FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'PX2'),
          'calgary', 'a malformed update changes nothing of the exam');
SELECT is((SELECT count(*) FROM hubspot_sync.sync_errors
           WHERE direction = 'pull' AND NOT resolved AND entity_id IN ('PX2', 'PX4', 'PX5')),
          3::bigint, 'malformed records are dead-lettered (one open row each)');

-- Archived in HubSpot: deactivated here (bookings kept); a clean apply closes a dead letter.
INSERT INTO r VALUES (4, pg_temp.apply(jsonb_build_array(
    tests.hs_record('PX1', '{}'::jsonb, true),
    tests.hs_exam('PX2', '{"capacity": "30", "location": "calgary"}'))));
SELECT is((SELECT result - 'errors' - 'retry' - 'capacity_refused' - 'capacity_cut' - 'bookings_cancelled' - 'bookings_moved' - 'conflicts' - 'time_problems' FROM r WHERE n = 4),
          '{"inserted": 0, "updated": 0, "unchanged": 1, "deactivated": 1}'::jsonb,
          'an archived exam is deactivated');
SELECT is((SELECT format('%s %s', is_active, total_bookings) FROM hubspot_sync.hubspot_mock_exams
           WHERE hubspot_id = 'PX1'), 'false 0',
          '... and its Active bookings are cancelled and refunded (exam_closed_policy refund)');
SELECT is((SELECT resolved FROM hubspot_sync.sync_errors WHERE entity_id = 'PX2'), true,
          'a record applied cleanly closes its dead letter');

-- Older reads: a record older (hs_lastmodifieddate) than the read applied last is left alone;
-- one without the property, or as new as the stored one, is applied as before.
INSERT INTO r VALUES (5, pg_temp.apply(jsonb_build_array(
    tests.hs_exam('PX6', '{"capacity": "12", "hs_lastmodifieddate": "2026-11-24T10:00:02.000Z"}'))));
INSERT INTO r VALUES (6, pg_temp.apply(jsonb_build_array(
    tests.hs_exam('PX6', '{"capacity": "8", "exam_date": "2031-02-01", "is_active": "false",
                           "hs_lastmodifieddate": "1795514401000"}'))));
SELECT is((SELECT result - 'errors' - 'retry' - 'capacity_refused' - 'capacity_cut' - 'bookings_cancelled' - 'bookings_moved' - 'conflicts' - 'time_problems' FROM r WHERE n = 6),
          '{"inserted": 0, "updated": 0, "unchanged": 1, "deactivated": 0}'::jsonb,
          'a read older than the one applied last is counted unchanged');
SELECT is((SELECT format('%s %s %s', capacity, exam_date, is_active)
           FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'PX6'),
          '12 2031-03-01 true', '... and changes nothing of the exam');
SELECT is((SELECT s.hubspot_modified_at FROM hubspot_sync.exam_hubspot_sync AS s
           JOIN hubspot_sync.hubspot_mock_exams AS e ON e.id = s.exam_id
           WHERE e.hubspot_id = 'PX6'), '2026-11-24T10:00:02Z'::timestamptz,
          'the newest HubSpot time applied is kept (ISO and epoch ms read alike)');
INSERT INTO r VALUES (7, pg_temp.apply(jsonb_build_array(tests.hs_exam('PX6', '{"capacity": "9"}'))));
SELECT is((SELECT format('%s %s', result ->> 'updated', e.capacity) FROM r,
           hubspot_sync.hubspot_mock_exams AS e WHERE n = 7 AND e.hubspot_id = 'PX6'),
          '1 9', 'a record without hs_lastmodifieddate is applied as before');
INSERT INTO r VALUES (8, pg_temp.apply(jsonb_build_array(
    tests.hs_exam('PX6', '{"capacity": "12", "hs_lastmodifieddate": "2026-11-24T10:00:02.000Z"}'))));
SELECT is((SELECT format('%s %s', result ->> 'updated', e.capacity) FROM r,
           hubspot_sync.hubspot_mock_exams AS e WHERE n = 8 AND e.hubspot_id = 'PX6'),
          '1 12', 'a read as new as the one applied last is applied again');

-- An empty value means what the record's "unknown" list says (the glue's catalogue): a column it
-- names keeps its stored value, one it does not name is cleared.
INSERT INTO r VALUES (9, pg_temp.apply(jsonb_build_array(
    tests.hs_exam('PX8', '{"mock_exam_name": "", "location": " "}')
    || '{"unknown": ["mock_exam_name"]}')));
SELECT is((SELECT format('%s %s', mock_exam_name, coalesce(location, 'none'))
           FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'PX8'), 'CS PX8 none',
          'an empty value named unknown keeps the stored one; one not named is cleared');
INSERT INTO r VALUES (10, pg_temp.apply(jsonb_build_array(
    tests.hs_exam('PX8', '{"mock_exam_name": ""}'))));
SELECT is((SELECT coalesce(mock_exam_name, 'none') FROM hubspot_sync.hubspot_mock_exams
           WHERE hubspot_id = 'PX8'), 'none', '... the same empty name not named unknown is cleared');
INSERT INTO r VALUES (11, pg_temp.apply(jsonb_build_array(
    tests.hs_exam('PX8', '{"location": "oslo"}') || '{"unknown": "mock_exam_name"}')));
SELECT is((SELECT result -> 'errors' FROM r WHERE n = 11),
          '[{"id": "PX8", "error": "INVALID_ARGUMENT: the record''s unknown list is not a list of column names"}]'::jsonb,
          'an unknown list that is not a list of names is a malformed record');

SELECT throws_ok($$SELECT mockbook_internal.apply_pulled_exams('{}')$$, 'PT400', 'INVALID_ARGUMENT',
                 'a non-array is refused');

SELECT * FROM finish();
ROLLBACK;
