-- apply_pulled_bookings: HubSpot's bookings into Postgres (the import), matched by HubSpot id,
-- booking code or idempotency key and never inserted twice, no credit moved, total_bookings
-- recounted, malformed records reported alone; a new row takes HubSpot's createdAt as its
-- created_at, a row already here keeps its own.
BEGIN;
SELECT plan(25);

SELECT * FROM tests.glue_function_ok('apply_pulled_bookings', ARRAY['jsonb', 'text'], 'volatile');
SELECT * FROM tests.request_roles_refused('mockbook_internal.apply_pulled_bookings(''[]'')');

DO $$ BEGIN
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'PBX1',
                            p_exam_date := '2031-03-01');
    PERFORM tests.make_student(p_cs := 2, p_student_id := 'PBS' || i) FROM generate_series(1, 4) i;
END $$;
CREATE TEMP TABLE r (n int PRIMARY KEY, result jsonb);
CREATE FUNCTION pg_temp.apply(p_records jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT tests.rpc('mockbook_glue', format(
        'mockbook_internal.apply_pulled_bookings(p_bookings := %L, p_actor := %L)', p_records,
        'hubspot:import'))
$$;
-- A booking record as the glue sends it: with its "unknown" list (the booking properties the
-- catalogue declares unknown when empty: the copies of its exam and contact)
CREATE FUNCTION pg_temp.hs(p_id text, p_code text, p_student text, p_overrides jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql AS $$
    SELECT tests.with_unknown(tests.hs_record(p_id, jsonb_build_object(
        'booking_id', p_code, 'idempotency_key', 'key-' || p_code,
        'associated_mock_exam', 'PBX1', 'associated_contact_id', 'C' || p_student,
        'student_id', p_student, 'email', lower(p_student) || '@example.com',
        'name', 'Student ' || p_student, 'is_active', 'Active', 'dominant_hand', 'left',
        'token_used', 'Clinical Skills Token', 'mock_type', 'Clinical Skills',
        'exam_date', '1930089600000') || p_overrides),
        '{"exam_date": "exam_date", "start_time": "start_time", "end_time": "end_time",
          "mock_type": "mock_type", "student_id": "student_id", "email": "student_email"}')
$$;

INSERT INTO r VALUES (1, pg_temp.apply(jsonb_build_array(
    pg_temp.hs('HB1', 'BK-HS-1', 'PBS1') || '{"createdAt": "2025-01-13T15:30:00.000Z"}',
    pg_temp.hs('HB2', 'BK-HS-2', 'PBS2', '{"is_active": "cancelled"}')
        || '{"createdAt": "last Monday"}')));
SELECT is((SELECT (result - 'errors' - 'retry' - 'inserted_ids') FROM r WHERE n = 1),
          '{"inserted": 2, "linked": 0, "matched": 0, "exams_recounted": 1}'::jsonb,
          'two HubSpot bookings are inserted');
SELECT is((SELECT jsonb_array_length(result -> 'inserted_ids') FROM r WHERE n = 1), 2,
          '... and their ids returned');
SELECT results_eq(
    $$SELECT booking_id, hubspot_id, is_active, exam_date, start_time, student_email, mock_set::text
      FROM hubspot_sync.hubspot_bookings WHERE associated_mock_exam = 'PBX1' ORDER BY booking_id$$,
    $$VALUES ('BK-HS-1', 'HB1', 'Active', '2031-03-01'::date, '09:00', 'pbs1@example.com', 'A'),
             ('BK-HS-2', 'HB2', 'Cancelled', '2031-03-01'::date, '09:00', 'pbs2@example.com', 'A')$$,
    'the rows carry HubSpot''s values, the exam''s times and set where HubSpot has none');
SELECT results_eq(
    $$SELECT booking_id, created_at FROM hubspot_sync.hubspot_bookings
      WHERE associated_mock_exam = 'PBX1' ORDER BY booking_id$$,
    $$VALUES ('BK-HS-1', '2025-01-13 15:30:00+00'::timestamptz), ('BK-HS-2', now())$$,
    'created_at is when HubSpot created the booking (createdAt); a malformed one is now(), '
    'the record still inserted');
SELECT is(tests.total('PBX1'), 1, 'total_bookings counts the Active one');
SELECT is(tests.ledger_of('PBS1'), '{}'::text[], 'no credit moves: HubSpot''s balance counted it');

-- Already here: by HubSpot id (matched), by booking code or idempotency key (linked).
DO $$
DECLARE v uuid;
BEGIN
    v := tests.seed_booking('PBS3', 'PBX1', p_token_used := 'Clinical Skills Token');
    UPDATE hubspot_sync.hubspot_bookings SET booking_id = 'BK-LOCAL-3' WHERE id = v;
    PERFORM tests.seed_booking('PBS4', 'PBX1', p_status := 'Cancelled',
                               p_idempotency_key := 'local-key-4');
END $$;
INSERT INTO r VALUES (2, pg_temp.apply(jsonb_build_array(
    pg_temp.hs('HB1', 'BK-HS-1', 'PBS1') || '{"createdAt": "2024-06-01T00:00:00.000Z"}',
    pg_temp.hs('HB3', 'BK-LOCAL-3', 'PBS3') || '{"createdAt": "2024-06-01T00:00:00.000Z"}',
    pg_temp.hs('HB4', 'BK-HS-4', 'PBS4', '{"idempotency_key": "local-key-4"}')
        || '{"createdAt": "2024-06-01T00:00:00.000Z"}')));
SELECT is((SELECT (result - 'errors' - 'retry' - 'inserted_ids') FROM r WHERE n = 2),
          '{"inserted": 0, "linked": 2, "matched": 1, "exams_recounted": 0}'::jsonb,
          'existing bookings are matched or linked, never inserted again');
SELECT results_eq(
    $$SELECT booking_id, hubspot_id FROM hubspot_sync.hubspot_bookings
      WHERE student_id IN ('PBS3', 'PBS4') ORDER BY student_id$$,
    $$SELECT 'BK-LOCAL-3', 'HB3' UNION ALL
      SELECT (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE student_id = 'PBS4'), 'HB4'$$,
    'linked by booking code and by idempotency key; Postgres keeps its own code');
SELECT is((SELECT count(*) FROM hubspot_sync.hubspot_bookings
           WHERE associated_mock_exam = 'PBX1'), 4::bigint, 'no duplicate');
SELECT results_eq(
    $$SELECT booking_id, created_at FROM hubspot_sync.hubspot_bookings
      WHERE associated_mock_exam = 'PBX1' ORDER BY booking_id$$,
    $$VALUES ('BK-HS-1', '2025-01-13 15:30:00+00'::timestamptz), ('BK-HS-2', now()),
             ('BK-LOCAL-3', now()),
             ((SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE student_id = 'PBS4'), now())$$,
    'a booking already here keeps its created_at (Postgres created it), whatever createdAt says');

-- Malformed or refused records: reported alone.
INSERT INTO r VALUES (3, pg_temp.apply(jsonb_build_array(
    pg_temp.hs('HB5', '', 'PBS2'),
    pg_temp.hs('HB6', 'BK-HS-6', 'PBS2', '{"associated_mock_exam": "NOPE"}'),
    pg_temp.hs('HB7', 'BK-HS-7', 'PBS2', '{"is_active": "Pending"}'),
    pg_temp.hs('HB8', 'BK-HS-8', 'PBS2', '{"attendance": "Maybe"}'),
    pg_temp.hs('HB9', 'BK-HS-9', 'PBS1'),
    pg_temp.hs('HB1X', 'BK-HS-1', 'PBS1'),
    pg_temp.hs('HB10', 'BK-HS-10', 'PBS2', '{"student_id": "", "email": ""}'))));
SELECT is((SELECT jsonb_array_length(result -> 'errors') FROM r WHERE n = 3), 6,
          'six records are refused');
SELECT matches((SELECT string_agg(e ->> 'error', ' | ' ORDER BY e ->> 'id')
                FROM r, jsonb_array_elements(result -> 'errors') e WHERE n = 3),
               'already HubSpot booking HB1.*missing property booking_id.*EXAM_NOT_FOUND.*'
               'is_active is not Active.*attendance is not Yes or No.*DUPLICATE_KEY: property student_id, mock_type, exam_date',
               'each says why (a duplicate in HubSpot, a missing code, an unknown exam, a bad '
               'status or attendance, a second Active booking that day)');
SELECT is((SELECT format('%s %s', student_id, student_email) FROM hubspot_sync.hubspot_bookings
           WHERE booking_id = 'BK-HS-10'), 'PBS2 pbs2@example.com',
          'a record without student is completed from its associated contact');
SELECT is((SELECT count(*) FROM hubspot_sync.sync_errors
           WHERE direction = 'pull' AND entity_type = 'hubspot_bookings'
             AND entity_id LIKE 'HB%'), 6::bigint,
          'the refused ones are dead-lettered');
SELECT is(tests.total('PBX1'), 3, 'total_bookings still equals the Active bookings');
SELECT is((SELECT count(*) FROM tests.invariant_violations()), 0::bigint, 'no invariant broken');

-- An empty copy not named unknown is stored empty: the exam's is taken only where the record's
-- "unknown" list (the glue's catalogue) says so.
INSERT INTO r VALUES (4, pg_temp.apply(jsonb_build_array(
    pg_temp.hs('HB11', 'BK-HS-11', 'PBS3', '{"is_active": "Cancelled"}') - 'unknown')));
SELECT is((SELECT format('%s %s', coalesce(start_time, 'none'), exam_date)
           FROM hubspot_sync.hubspot_bookings WHERE booking_id = 'BK-HS-11'), 'none 2031-03-01',
          'an empty start time not named unknown is stored empty');

SELECT * FROM finish();
ROLLBACK;
