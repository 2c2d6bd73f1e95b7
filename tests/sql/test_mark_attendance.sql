-- mark_attendance: Yes/No -> Completed, empty -> back to Active, per-item outcomes, at most 100,
-- total_bookings always the Active count, no credit effect.
BEGIN;
SELECT plan(49);

-- Catalog and privileges ---------------------------------------------------------------------------
SELECT volatility_is('hubspot_sync', 'mark_attendance', ARRAY['jsonb', 'text', 'text'], 'volatile',
                     'mark_attendance is VOLATILE');
SELECT is_definer('hubspot_sync', 'mark_attendance', ARRAY['jsonb', 'text', 'text'],
                    'mark_attendance is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'mark_attendance', ARRAY['jsonb', 'text', 'text'], r, p,
                          format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}'))
     AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.mark_attendance(jsonb, text, text)'), 0::bigint,
          'plpgsql_check: mark_attendance is clean');
SELECT isnt(obj_description('hubspot_sync.mark_attendance(jsonb, text, text)'::regprocedure, 'pg_proc'),
            NULL, 'mark_attendance has a comment');

-- Fixtures -----------------------------------------------------------------------------------
CREATE TEMP TABLE bk (name text PRIMARY KEY, id uuid);
DO $$ BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'EXMA1', p_capacity := 3);
    PERFORM tests.make_exam(p_hubspot_id := 'EXMA2', p_capacity := 1);
    PERFORM tests.make_student(p_sj := 2, p_student_id := 'MA' || i) FROM generate_series(1, 7) AS i;
    INSERT INTO bk VALUES
        ('a1', tests.seed_booking('MA1', 'EXMA1')),
        ('a2', tests.seed_booking('MA2', 'EXMA1', p_hubspot_id := 'HBMA2')),
        ('a3', tests.seed_booking('MA3', 'EXMA1', p_status := 'Cancelled')),
        ('a4', tests.seed_booking('MA4', 'EXMA1', p_status := 'Failed')),
        ('a5', tests.seed_booking('MA5', 'EXMA1', p_status := 'Completed', p_attendance := 'Yes')),
        ('b1', tests.seed_booking('MA6', 'EXMA2', p_status := 'Completed', p_attendance := 'No')),
        ('b2', tests.seed_booking('MA7', 'EXMA2'));
END $$;
CREATE TEMP TABLE credits_before AS
    SELECT (SELECT count(*) FROM hubspot_sync.credit_ledger) AS ledger,
           (SELECT sum(sj_credits) FROM hubspot_sync.hubspot_contact_credits
            WHERE student_id LIKE 'MA%') AS sj;

SELECT throws_ok($$SELECT tests.mark(jsonb_build_array(jsonb_build_object(
                       'booking_id', (SELECT id FROM bk WHERE name = 'a1'), 'attendance', 'Yes')),
                       p_role := 'anon')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.mark(jsonb_build_array(jsonb_build_object(
                       'booking_id', (SELECT id FROM bk WHERE name = 'a1'), 'attendance', 'Yes')),
                       p_role := 'authenticated')$$,
                 '42501', NULL, 'authenticated is refused');
SELECT is((SELECT is_active FROM hubspot_sync.hubspot_bookings WHERE id = (SELECT id FROM bk WHERE name = 'a1')),
          'Active', 'refused calls changed nothing');

-- One batch, every outcome ---------------------------------------------------------------------------
DELETE FROM hubspot_sync.supabase_audit_log;
CREATE TEMP TABLE r1 AS SELECT tests.mark(jsonb_build_array(
    jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'a1'), 'attendance', 'Yes'),
    jsonb_build_object('booking_id', 'HBMA2', 'attendance', 'no'),
    jsonb_build_object('booking_id', tests.code_of((SELECT id FROM bk WHERE name = 'a3')), 'attendance', 'Yes'),
    jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'a4'), 'attendance', 'No'),
    jsonb_build_object('booking_id', tests.code_of((SELECT id FROM bk WHERE name = 'a5')), 'attendance', 'Yes'),
    jsonb_build_object('booking_id', 'BK-NOPE', 'attendance', 'Yes', 'note', 'extra keys are ignored')),
    'admin@example.com') AS r;

SELECT is((SELECT r -> 'updated' FROM r1),
          jsonb_build_array(
              jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'a1'),
                                 'id', (SELECT id FROM bk WHERE name = 'a1'), 'mock_exam_id', 'EXMA1',
                                 'previous_status', 'Active', 'status', 'Completed',
                                 'previous_attendance', NULL, 'attendance', 'Yes'),
              jsonb_build_object('booking_id', 'HBMA2', 'id', (SELECT id FROM bk WHERE name = 'a2'),
                                 'mock_exam_id', 'EXMA1', 'previous_status', 'Active',
                                 'status', 'Completed', 'previous_attendance', NULL,
                                 'attendance', 'No')),
          'by uuid and by HubSpot id: Active -> Completed with Yes / No (case-insensitive)');
SELECT is((SELECT r -> 'rejected' FROM r1),
          jsonb_build_array(
              jsonb_build_object('booking_id', tests.code_of((SELECT id FROM bk WHERE name = 'a3')),
                                 'reason', 'BOOKING_CANCELLED'),
              jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'a4'),
                                 'reason', 'BOOKING_FAILED')),
          'Cancelled and Failed bookings are rejected per item');
SELECT is((SELECT r -> 'skipped' FROM r1),
          jsonb_build_array(jsonb_build_object(
              'booking_id', tests.code_of((SELECT id FROM bk WHERE name = 'a5')), 'reason', 'UNCHANGED')),
          'a booking already in that state is skipped');
SELECT is((SELECT r -> 'not_found' FROM r1), '["BK-NOPE"]'::jsonb, 'unknown ids are listed');
SELECT is((SELECT r -> 'exams' FROM r1),
          '[{"mock_exam_id": "EXMA1", "capacity": 3, "total_bookings": 0, "over_capacity": false}]'::jsonb,
          'the exam whose Active count changed is reported with its new total');
SELECT results_eq(
    $$SELECT b.name, h.is_active, h.attendance FROM bk AS b
      JOIN hubspot_sync.hubspot_bookings AS h ON h.id = b.id WHERE b.name LIKE 'a%' ORDER BY b.name$$,
    $$VALUES ('a1', 'Completed', 'Yes'), ('a2', 'Completed', 'No'), ('a3', 'Cancelled', NULL),
             ('a4', 'Failed', NULL), ('a5', 'Completed', 'Yes')$$,
    'the bookings are as reported; rejected ones untouched');
SELECT is((SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'EXMA1'), 0,
          'Completed bookings no longer count: total_bookings 2 -> 0');
SELECT results_eq(
    $$SELECT table_name, performed_by, count(*)::int FROM hubspot_sync.supabase_audit_log
      GROUP BY 1, 2 ORDER BY 1$$,
    $$VALUES ('hubspot_bookings', 'admin@example.com', 2), ('hubspot_mock_exams', 'admin@example.com', 1)$$,
    'two booking updates and one exam update, audited with p_actor');
SELECT is((SELECT changed_fields FROM hubspot_sync.supabase_audit_log
           WHERE table_name = 'hubspot_bookings' AND record_id = (SELECT id FROM bk WHERE name = 'a1')),
          '["attendance", "is_active"]'::jsonb, 'only attendance and status change on the booking');

-- The rest of this file calls without p_actor (each PostgREST call is its own transaction;
-- here the setting of the first call would otherwise persist).
DO $$ BEGIN PERFORM set_config('mockbook.actor', '', true); END $$;

-- Transitions ----------------------------------------------------------------------------------------
SELECT is(tests.mark(jsonb_build_array(jsonb_build_object(
              'booking_id', (SELECT id FROM bk WHERE name = 'a1'), 'attendance', 'No'))) -> 'exams',
          '[]'::jsonb, 'Completed Yes -> No changes no count');
SELECT is((SELECT attendance FROM hubspot_sync.hubspot_bookings WHERE id = (SELECT id FROM bk WHERE name = 'a1')),
          'No', 'attendance Yes -> No is recorded');
SELECT is(tests.mark(jsonb_build_array(
              jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'a1'), 'attendance', ''),
              jsonb_build_object('booking_id', 'HBMA2', 'attendance', NULL))) -> 'exams',
          '[{"mock_exam_id": "EXMA1", "capacity": 3, "total_bookings": 2, "over_capacity": false}]'::jsonb,
          '"" and null revert to Active and take the seats back');
SELECT results_eq(
    $$SELECT b.name, h.is_active, h.attendance FROM bk AS b
      JOIN hubspot_sync.hubspot_bookings AS h ON h.id = b.id WHERE b.name IN ('a1', 'a2') ORDER BY b.name$$,
    $$VALUES ('a1', 'Active', NULL::text), ('a2', 'Active', NULL)$$,
    'reverted bookings are Active with attendance NULL');
SELECT is(tests.mark(jsonb_build_array(jsonb_build_object(
              'booking_id', (SELECT id FROM bk WHERE name = 'a1'), 'attendance', NULL))) -> 'skipped',
          jsonb_build_array(jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'a1'),
                                               'reason', 'UNCHANGED')),
          'reverting an Active booking is skipped as unchanged');
SELECT is(tests.mark(jsonb_build_array(jsonb_build_object(
              'booking_id', (SELECT id FROM bk WHERE name = 'b1'), 'attendance', ''))) -> 'exams',
          '[{"mock_exam_id": "EXMA2", "capacity": 1, "total_bookings": 2, "over_capacity": true}]'::jsonb,
          'reverting on an exam filled since is allowed (the seat was held) and reported over capacity');
SELECT is((SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'EXMA2'), 2,
          'total_bookings follows the Active count above capacity');

-- A booking named twice: applied in order, counted once ------------------------------------------------
SELECT is(jsonb_array_length(tests.mark(jsonb_build_array(
              jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'b2'), 'attendance', 'Yes'),
              jsonb_build_object('booking_id', tests.code_of((SELECT id FROM bk WHERE name = 'b2')), 'attendance', ''),
              jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'b2'), 'attendance', 'No'))) -> 'updated'),
          3, 'each item of a booking named three times is applied in order');
SELECT results_eq(
    $$SELECT h.is_active, h.attendance, e.total_bookings FROM hubspot_sync.hubspot_bookings AS h
      JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = h.associated_mock_exam
      WHERE h.id = (SELECT id FROM bk WHERE name = 'b2')$$,
    $$VALUES ('Completed', 'No', 1)$$, 'the last item wins and total_bookings is right');

-- A booking whose exam is not (or no longer) in the database ------------------------------------------
UPDATE hubspot_sync.hubspot_bookings SET associated_mock_exam = 'EX-GONE'
WHERE id = (SELECT id FROM bk WHERE name = 'a5');
SELECT is(tests.mark(jsonb_build_array(jsonb_build_object(
              'booking_id', (SELECT id FROM bk WHERE name = 'a5'), 'attendance', ''))) -> 'updated' -> 0 ->> 'status',
          'Active', 'a booking without a known exam can be marked (no exam to lock or count)');

-- Limits ---------------------------------------------------------------------------------------------------
SELECT is(tests.mark('[]'::jsonb),
          '{"updated": [], "skipped": [], "rejected": [], "not_found": [], "exams": []}'::jsonb,
          'an empty batch does nothing');
SELECT is(jsonb_array_length(tests.mark(
              (SELECT jsonb_agg(jsonb_build_object('booking_id', 'BK-NONE-' || i, 'attendance', 'Yes'))
               FROM generate_series(1, 100) AS i)) -> 'not_found'),
          100, '100 items are accepted');
SELECT is((SELECT count(*)::int FROM hubspot_sync.supabase_audit_log WHERE performed_by = 'service_role'
           AND table_name = 'hubspot_bookings'), 8,
          'without p_actor the audit names the request role');

-- Errors: the whole call is refused and nothing changes --------------------------------------------------
CREATE TEMP TABLE snap AS
    SELECT jsonb_agg(to_jsonb(h) ORDER BY h.id) AS bookings FROM hubspot_sync.hubspot_bookings AS h;
SELECT throws_ok($$SELECT tests.mark((SELECT jsonb_agg(jsonb_build_object('booking_id', 'BK-NONE-' || i, 'attendance', 'Yes'))
                                      FROM generate_series(1, 101) AS i))$$,
                 'PT400', 'INVALID_ARGUMENT', '101 items are refused');
SELECT throws_ok($$SELECT tests.mark(NULL)$$, 'PT400', 'INVALID_ARGUMENT', 'NULL is refused');
SELECT throws_ok($$SELECT tests.mark('{"booking_id": "x", "attendance": "Yes"}')$$,
                 'PT400', 'INVALID_ARGUMENT', 'an object instead of an array is refused');
SELECT throws_ok($$SELECT tests.mark('"Yes"')$$, 'PT400', 'INVALID_ARGUMENT', 'a string is refused');
SELECT throws_ok($$SELECT tests.mark(jsonb_build_array(
                       jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'a1'), 'attendance', 'Yes'),
                       '"BK-1"'::jsonb))$$,
                 'PT400', 'INVALID_ARGUMENT', 'an item that is not an object is refused, with the valid ones');
SELECT throws_ok($$SELECT tests.mark('[{"attendance": "Yes"}]')$$,
                 'PT400', 'INVALID_ARGUMENT', 'an item without booking_id is refused');
SELECT throws_ok($$SELECT tests.mark('[{"booking_id": "  ", "attendance": "Yes"}]')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a blank booking_id is refused');
SELECT throws_ok($$SELECT tests.mark('[{"booking_id": true, "attendance": "Yes"}]')$$,
                 'PT400', 'INVALID_ARGUMENT', 'a boolean booking_id is refused');
SELECT throws_ok(format($$SELECT tests.mark('[{"booking_id": "%s", "attendance": "Yes"}]')$$, repeat('x', 256)),
                 'PT400', 'INVALID_ARGUMENT', 'an over-long booking_id is refused');
SELECT throws_ok($$SELECT tests.mark(jsonb_build_array(jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'a1'))))$$,
                 'PT400', 'INVALID_ARGUMENT', 'an item without the attendance key is refused (not a silent revert)');
SELECT throws_ok($$SELECT tests.mark(jsonb_build_array(jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'a1'), 'attendance', 'Maybe')))$$,
                 'PT400', 'INVALID_ARGUMENT', 'an attendance other than Yes/No/empty is refused');
SELECT throws_ok($$SELECT tests.mark(jsonb_build_array(jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'a1'), 'attendance', true)))$$,
                 'PT400', 'INVALID_ARGUMENT', 'a boolean attendance is refused');
SELECT throws_ok($$SELECT tests.mark(jsonb_build_array(jsonb_build_object('booking_id', (SELECT id FROM bk WHERE name = 'a1'), 'attendance', 'Yes')),
                                     repeat('a', 256))$$,
                 'PT400', 'INVALID_ARGUMENT', 'an over-long p_actor is refused');
SELECT is((SELECT jsonb_agg(to_jsonb(h) ORDER BY h.id) FROM hubspot_sync.hubspot_bookings AS h),
          (SELECT bookings FROM snap), 'refused calls changed no booking');

-- No credit effect; invariants ----------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM hubspot_sync.credit_ledger), (SELECT ledger FROM credits_before),
          'no ledger row was written');
SELECT is((SELECT sum(sj_credits) FROM hubspot_sync.hubspot_contact_credits WHERE student_id LIKE 'MA%'),
          (SELECT sj FROM credits_before), 'no balance changed');
SELECT is(ARRAY(SELECT tests.invariant_violations()), ARRAY[]::text[],
          'total_bookings equals the Active bookings of every exam');

SELECT * FROM finish();
ROLLBACK;
