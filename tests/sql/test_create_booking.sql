-- create_booking: every check in its order, the credit table, idempotency, the
-- booking row, and that a failed call changes nothing.
BEGIN;
SELECT plan(124);

-- Catalog and privileges ----------------------------------------------------------------------
SELECT volatility_is('hubspot_sync', 'create_booking',
                     ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text'],
                     'volatile', 'create_booking is VOLATILE');
SELECT is_definer('hubspot_sync', 'create_booking',
                    ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text'],
                    'create_booking is SECURITY DEFINER');
SELECT function_privs_are('hubspot_sync', 'create_booking',
                          ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text'],
                          r, p, format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{EXECUTE}')) AS v(r, p);
SELECT is(tests.plpgsql_check_count('hubspot_sync.create_booking(text,text,text,text,text,text,text,text,text)'),
          0::bigint, 'plpgsql_check: create_booking is clean');
SELECT ok((SELECT proconfig @> ARRAY['search_path=""'] FROM pg_proc
           WHERE oid = 'hubspot_sync.create_booking(text,text,text,text,text,text,text,text,text)'::regprocedure),
          'create_booking pins search_path');
SELECT matches(obj_description('hubspot_sync.create_booking(text,text,text,text,text,text,text,text,text)'::regprocedure, 'pg_proc'),
               'EXAM_FULL', 'create_booking has a comment listing its errors');

-- Fixtures ------------------------------------------------------------------------------------
-- 06:00 today, business time zone: today's exams (09:00-12:00) have not started, whatever the
-- hour the suite runs at
DO $$ BEGIN PERFORM tests.set_local_time('06:00'); END $$;
DO $$
DECLARE
    d date := hubspot_sync.business_today() + 7;
BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'CB_SJ', p_exam_date := d);
    PERFORM tests.make_exam(p_hubspot_id := 'CB_SJ2', p_exam_date := d);
    PERFORM tests.make_exam(p_hubspot_id := 'CB_SJ3', p_exam_date := d + 1);
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'CB_CS', p_exam_date := d);
    PERFORM tests.make_exam(p_mock_type := 'Mini-mock', p_hubspot_id := 'CB_MM', p_exam_date := d);
    PERFORM tests.make_exam(p_mock_type := 'Mock Discussion', p_hubspot_id := 'CB_MD', p_exam_date := d);
    PERFORM tests.make_exam(p_mock_type := 'Essay', p_hubspot_id := 'CB_XX', p_exam_date := d);
    PERFORM tests.make_exam(p_hubspot_id := 'CB_FULL', p_capacity := 1, p_exam_date := d + 3);
    PERFORM tests.make_exam(p_hubspot_id := 'CB_ZERO', p_capacity := 0, p_exam_date := d + 3);
    PERFORM tests.make_exam(p_hubspot_id := 'CB_NULLCAP', p_exam_date := d + 3);
    UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL WHERE hubspot_id = 'CB_NULLCAP';
    PERFORM tests.make_exam(p_hubspot_id := 'CB_OFF', p_is_active := 'false', p_exam_date := d + 4);
    PERFORM tests.make_exam(p_hubspot_id := 'CB_SCHED_FUT', p_is_active := 'scheduled', p_exam_date := d + 4,
                            p_scheduled_activation_datetime := mockbook_internal.clock_now() + interval '1 day');
    PERFORM tests.make_exam(p_hubspot_id := 'CB_SCHED_NULL', p_is_active := 'scheduled', p_exam_date := d + 4);
    PERFORM tests.make_exam(p_hubspot_id := 'CB_SCHED_PAST', p_is_active := 'scheduled', p_exam_date := d + 5,
                            p_scheduled_activation_datetime := mockbook_internal.clock_now() - interval '1 hour');
    PERFORM tests.make_exam(p_hubspot_id := 'CB_UPPER', p_is_active := 'TRUE', p_exam_date := d + 6);
    PERFORM tests.make_exam(p_hubspot_id := 'CB_ACTIVE', p_is_active := 'active', p_exam_date := d + 7);
    PERFORM tests.make_exam(p_hubspot_id := 'CB_PAST', p_exam_date := hubspot_sync.business_today() - 1);
    PERFORM tests.make_exam(p_hubspot_id := 'CB_TODAY', p_exam_date := hubspot_sync.business_today());
    PERFORM tests.make_exam(p_hubspot_id := 'CB_PRE1', p_exam_date := d + 10);
    PERFORM tests.make_exam(p_mock_type := 'Mini-mock', p_hubspot_id := 'CB_PRE2', p_exam_date := d + 10);
    PERFORM tests.make_exam(p_hubspot_id := 'CB_NEEDS', p_exam_date := d + 11,
                            p_prerequisite_exam_ids := ARRAY['CB_PRE1', 'CB_PRE2']);

    PERFORM tests.make_student(p_sj := 2, p_shared := 1, p_student_id := 'CBA');  -- happy path
    PERFORM tests.make_student(p_shared := 1, p_student_id := 'CBSH');            -- SJ on shared
    PERFORM tests.make_student(p_cs := 1, p_shared := 1, p_student_id := 'CBCS');
    PERFORM tests.make_student(p_shared := 1, p_student_id := 'CBCSSH');
    PERFORM tests.make_student(p_shared := 5, p_student_id := 'CBMMNO');           -- no sjmini
    PERFORM tests.make_student(p_sjmini := 1, p_student_id := 'CBMM');
    PERFORM tests.make_student(p_shared := 5, p_student_id := 'CBMDNO');           -- no md token
    PERFORM tests.make_student(p_md := 1, p_student_id := 'CBMD');
    PERFORM tests.make_student(p_student_id := 'CBNONE');                          -- no credits
    PERFORM tests.make_student(p_sj := 9, p_cs := 9, p_sjmini := 9, p_md := 9, p_shared := 9,
                               p_student_id := 'CBR');                            -- rich
    PERFORM tests.make_student(p_sj := 9, p_shared := 9, p_student_id := 'CBR2');
    PERFORM tests.make_student(p_sj := 9, p_student_id := 'CBPRE');
    PERFORM tests.make_student(p_sj := 9, p_cs := 1, p_student_id := 'CBDUP');
    PERFORM tests.make_student(p_sj := 9, p_student_id := 'CBIDEM');
    PERFORM tests.make_student(p_sj := 1, p_student_id := 'CBNOHS');
    UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = NULL, ndecc_exam_date = NULL
    WHERE student_id = 'CBNOHS';
    UPDATE hubspot_sync.hubspot_contact_credits SET ndecc_exam_date = '2027-03-01'
    WHERE student_id = 'CBA';
END $$;

-- anon and authenticated are refused, service_role succeeds ------------------------------------
SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-anon'', p_attending_location := ''calgary'')')$$,
                 '42501', NULL, 'anon is refused');
SELECT throws_ok($$SELECT tests.rpc('authenticated', 'hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-auth'', p_attending_location := ''calgary'')')$$,
                 '42501', NULL, 'authenticated is refused');
SELECT is(tests.total('CB_SJ'), 0, 'the refused calls booked nothing');

-- Success: the result, the row, the credit, the ledger, the count ------------------------------
CREATE TEMP TABLE r_ok AS
SELECT tests.rpc('service_role', $$hubspot_sync.create_booking(p_student_id := 'CBA', p_email := 'CBA@Example.COM', p_mock_exam_id := 'CB_SJ', p_idempotency_key := 'k-ok', p_attending_location := 'calgary', p_dominant_hand := 'left')$$) AS r;

SELECT is((SELECT r - 'id' - 'booking_id' - 'exam_date' FROM r_ok),
          '{"success": true, "idempotent_replay": false, "status": "Active", "mock_exam_id": "CB_SJ",
            "mock_type": "Situational Judgment", "student_id": "CBA",
            "token_used": "Situational Judgment Token", "credit_field": "sj_credits",
            "credits_remaining": 1, "total_bookings": 1, "capacity": 10,
            "time_zone": "America/Toronto"}'::jsonb
          || (SELECT jsonb_build_object('starts_at', e.exam_starts_at, 'ends_at', e.exam_ends_at)
              FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = 'CB_SJ'),
          'service_role books: the result says what was booked and spent (email matched case-insensitively)');
SELECT is((SELECT (r ->> 'exam_date')::date FROM r_ok), hubspot_sync.business_today() + 7,
          'the result has the exam date');
SELECT matches((SELECT r ->> 'booking_id' FROM r_ok), '^BK-[0-9]{8}-[A-Z0-9]{6}$',
               'the booking code has the form BK-YYYYMMDD-XXXXXX');
SELECT is((SELECT substr(r ->> 'booking_id', 4, 8) FROM r_ok),
          to_char(hubspot_sync.business_today(), 'YYYYMMDD'), 'the code carries today''s business date');
SELECT results_eq(
    $$SELECT b.hubspot_id, b.associated_mock_exam, b.associated_contact_id, b.student_id, b.name,
             b.student_email, b.is_active, b.attendance, b.dominant_hand, b.attending_location,
             b.token_used, b.token_refunded, b.start_time, b.end_time, b.exam_date, b.mock_type,
             b.mock_set::text, b.ndecc_exam_date, b.idempotency_key, b.idempotency_fingerprint IS NOT NULL
      FROM hubspot_sync.hubspot_bookings b, r_ok WHERE b.id = (r_ok.r ->> 'id')::uuid$$,
    $$VALUES (NULL::text, 'CB_SJ', 'CCBA', 'CBA', 'FirstCBA LastCBA', 'cba@example.com', 'Active',
              NULL::text, 'left', 'calgary', 'Situational Judgment Token', false, '09:00', '12:00',
              hubspot_sync.business_today() + 7, 'Situational Judgment', 'A', '2027-03-01', 'k-ok', true)$$,
    'the booking row: no HubSpot id yet, exam and contact details copied, name from the contact');
SELECT is(tests.balance('CBA', 'sj_credits'), 1, 'one sj credit spent');
SELECT is(tests.balance('CBA', 'shared_mock_credits'), 1, 'shared credits untouched while sj credits last');
SELECT results_eq(
    $$SELECT l.credit_field::text, l.delta::integer, l.balance_after::integer, l.reason::text, l.booking_id
      FROM hubspot_sync.credit_ledger l WHERE l.student_id = 'CBA'$$,
    $$SELECT 'sj_credits'::text, -1, 1, 'booking'::text, (r ->> 'id')::uuid FROM r_ok$$,
    'one ledger row: sj_credits -1, reason booking, pointing at the booking');
SELECT is(tests.total('CB_SJ'), 1, 'total_bookings + 1');
SELECT is(tests.balance_minus_ledger('CBA'),
          ARRAY['cs_credits 0', 'mock_discussion_token 0', 'shared_mock_credits 1', 'sj_credits 2', 'sjmini_credits 0'],
          'balance = starting balance + ledger');

-- Idempotency ----------------------------------------------------------------------------------
SELECT tests.snapshot('after_ok');
SELECT is(tests.rpc('service_role', $$hubspot_sync.create_booking(p_student_id := 'CBA', p_email := 'cba@example.com', p_mock_exam_id := 'CB_SJ', p_idempotency_key := 'k-ok', p_attending_location := 'calgary', p_dominant_hand := 'left')$$),
          (SELECT r || '{"idempotent_replay": true}' FROM r_ok),
          'the same key and request returns the original booking, marked idempotent_replay');
SELECT ok(tests.unchanged_since('after_ok'), 'a replay changes nothing (no booking, credit, ledger row or count)');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_SJ3'', p_idempotency_key := ''k-ok'', p_attending_location := ''calgary'', p_dominant_hand := ''left'')')$$,
                 'PT422', 'IDEMPOTENCY_KEY_REUSED', 'the same key for another exam is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-ok'', p_attending_location := ''vancouver'', p_dominant_hand := ''left'')')$$,
                 'PT422', 'IDEMPOTENCY_KEY_REUSED', 'the same key with another location is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-ok'', p_attending_location := ''calgary'')')$$,
                 'PT422', 'IDEMPOTENCY_KEY_REUSED', 'the same key with another dominant hand is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBR'', p_email := ''cbr@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-ok'', p_attending_location := ''calgary'', p_dominant_hand := ''left'')')$$,
                 'PT422', 'IDEMPOTENCY_KEY_REUSED', 'the same key for another student is refused');
SELECT ok(tests.unchanged_since('after_ok'), 'refused key reuses change nothing');
-- the key is checked before anything else but the arguments: a replay still answers once the
-- exam is full, inactive or the credits are gone
UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 1, is_active = 'false' WHERE hubspot_id = 'CB_SJ';
SELECT is(tests.rpc('service_role', $$hubspot_sync.create_booking(p_student_id := 'CBA', p_email := 'cba@example.com', p_mock_exam_id := 'CB_SJ', p_idempotency_key := 'k-ok', p_attending_location := 'calgary', p_dominant_hand := 'left')$$) ->> 'idempotent_replay',
          'true', 'a replay answers even after the exam closed (step 2 before step 4)');
UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 10, is_active = 'true' WHERE hubspot_id = 'CB_SJ';

-- a failed call stores nothing: the same key tries again
SELECT throws_ok($$SELECT tests.book('CBIDEM', 'CB_ZERO', 'k-retry')$$, 'PT409', 'EXAM_FULL',
                 'a call on a full exam fails');
UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 1 WHERE hubspot_id = 'CB_ZERO';
SELECT is(tests.book('CBIDEM', 'CB_ZERO', 'k-retry') ->> 'idempotent_replay', 'false',
          'after a failure the same key books for real');
SELECT is(tests.balance('CBIDEM', 'sj_credits'), 8, 'the retry spent exactly one credit');

-- a booking stored before mockbook (no fingerprint) replays by its own columns
DO $$ BEGIN
    PERFORM tests.seed_booking('CBIDEM', 'CB_SJ3', p_idempotency_key := 'k-legacy');
END $$;
SELECT is(tests.book('CBIDEM', 'CB_SJ3', 'k-legacy', 'mississauga') ->> 'idempotent_replay', 'true',
          'a legacy row with the same student, exam and location is a replay');
SELECT throws_ok($$SELECT tests.book('CBIDEM', 'CB_SJ3', 'k-legacy', 'calgary')$$, 'PT422',
                 'IDEMPOTENCY_KEY_REUSED', 'a legacy row with another location is a reuse');

-- 1. Arguments ---------------------------------------------------------------------------------
SELECT tests.snapshot('args');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.create_booking(p_student_id := %L, p_email := ''x@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-a'', p_attending_location := ''calgary'')', v)),
               '^PT400 INVALID_ARGUMENT: p_student_id', format('student id %s is refused, naming p_student_id', d))
FROM (VALUES ('cba', 'lower case'), ('CB A', 'with a space'), ('', 'empty'), (repeat('A', 65), '65 characters'),
             ('CB-A', 'with a dash'), ('CBA''; DROP TABLE x; --', 'an SQL fragment')) AS t(v, d);
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.create_booking(p_student_id := NULL, p_email := ''x@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-a'')'),
               '^PT400 INVALID_ARGUMENT: p_student_id', 'a NULL student id is refused');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := %L, p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-a'', p_attending_location := ''calgary'')', v)),
               '^PT400 INVALID_ARGUMENT: p_email', format('email %s is refused, naming p_email', d))
FROM (VALUES ('cba', 'without @'), ('cba@example', 'without a dot'), ('c ba@example.com', 'with a space'),
             ('', 'empty'), (repeat('a', 250) || '@x.com', 'of 256 characters')) AS t(v, d);
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := %L, p_attending_location := ''calgary'')', v)),
               '^PT400 INVALID_ARGUMENT: p_idempotency_key', format('idempotency key %s is refused', d))
FROM (VALUES ('', 'empty'), (repeat('k', 256), 'of 256 characters')) AS t(v, d);
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := NULL)'),
               '^PT400 INVALID_ARGUMENT: p_idempotency_key', 'a NULL idempotency key is refused');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := NULL, p_idempotency_key := ''k-a'')'),
               '^PT400 INVALID_ARGUMENT: p_mock_exam_id', 'a NULL exam id is refused');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-a'', p_attending_location := %L)', v)),
               '^PT400 INVALID_ARGUMENT: p_attending_location', format('location %s is refused', d))
FROM (VALUES ('toronto', 'not in the list'), ('Calgary', 'not lower case'), ('', 'empty')) AS t(v, d);
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_CS'', p_idempotency_key := ''k-a'', p_dominant_hand := repeat(''l'', 33))'),
               '^PT400 INVALID_ARGUMENT: p_dominant_hand', 'a dominant hand over 32 characters is refused');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-a'', p_attending_location := ''calgary'', p_student_name := repeat(''n'', 256))'),
               '^PT400 INVALID_ARGUMENT: p_student_name', 'a name over 255 characters is refused');
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-a'', p_attending_location := ''calgary'', p_mock_set := %L)', v)),
               '^PT400 INVALID_ARGUMENT: p_mock_set', format('mock set %s is refused', d))
FROM (VALUES ('I', 'I'), ('a', 'lower-case a'), ('', 'empty')) AS t(v, d);
SELECT matches(tests.rpc_error('service_role', format('hubspot_sync.create_booking(p_student_id := ''CBA'', p_email := ''cba@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-a'', p_attending_location := ''calgary'', p_booking_id := %L)', v)),
               '^PT400 INVALID_ARGUMENT: p_booking_id', format('booking code %s is refused', d))
FROM (VALUES ('  ', 'blank'), (repeat('B', 256), 'of 256 characters')) AS t(v, d);
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.create_booking(p_student_id := ''cba'', p_email := ''cba@example.com'', p_mock_exam_id := ''NO_SUCH_EXAM'', p_idempotency_key := ''k-ok'')'),
               '^PT400 INVALID_ARGUMENT', 'arguments are checked first (before the key, contact and exam)');
SELECT ok(tests.unchanged_since('args'), 'refused arguments change nothing');

-- 3. Contact -----------------------------------------------------------------------------------
SELECT throws_ok($$SELECT tests.book('NOSUCHSTUDENT', 'CB_SJ', 'k-c1')$$, 'PT404', 'CONTACT_NOT_FOUND',
                 'an unknown student is refused');
SELECT throws_ok($$SELECT tests.rpc('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBR'', p_email := ''someone.else@example.com'', p_mock_exam_id := ''CB_SJ'', p_idempotency_key := ''k-c2'', p_attending_location := ''calgary'')')$$,
                 'PT404', 'CONTACT_NOT_FOUND', 'a known student with another email is refused');
SELECT throws_ok($$SELECT tests.book('NOSUCHSTUDENT', 'NO_SUCH_EXAM', 'k-c3')$$, 'PT404', 'CONTACT_NOT_FOUND',
                 'the contact is checked before the exam');

-- 4. Exam: exists, open, not past ---------------------------------------------------------------
SELECT throws_ok($$SELECT tests.book('CBR', 'NO_SUCH_EXAM', 'k-e1')$$, 'PT404', 'EXAM_NOT_FOUND',
                 'an unknown exam is refused');
SELECT throws_ok($$SELECT tests.book('CBR', 'CB_OFF', 'k-e2')$$, 'PT409', 'EXAM_NOT_ACTIVE',
                 'an inactive exam is refused');
SELECT throws_ok($$SELECT tests.book('CBR', 'CB_SCHED_FUT', 'k-e3')$$, 'PT409', 'EXAM_NOT_ACTIVE',
                 'a scheduled exam whose activation time is ahead is refused');
SELECT throws_ok($$SELECT tests.book('CBR', 'CB_SCHED_NULL', 'k-e4')$$, 'PT409', 'EXAM_NOT_ACTIVE',
                 'a scheduled exam without an activation time is refused');
SELECT is(tests.book('CBR', 'CB_SCHED_PAST', 'k-e5') ->> 'status', 'Active',
          'a scheduled exam whose activation time has passed is bookable');
SELECT is(tests.book('CBR', 'CB_UPPER', 'k-e6') ->> 'status', 'Active', 'is_active TRUE (any case) is bookable');
SELECT is(tests.book('CBR', 'CB_ACTIVE', 'k-e7') ->> 'status', 'Active', 'is_active active is bookable');
SELECT throws_ok($$SELECT tests.book('CBR', 'CB_PAST', 'k-e8')$$, 'PT409', 'EXAM_IN_PAST',
                 'an exam before today (business time zone) is refused');
SELECT is(tests.book('CBR', 'CB_TODAY', 'k-e9') ->> 'status', 'Active', 'an exam today that has not started is bookable');
SELECT throws_ok($$SELECT tests.book('CBR', 'CB_PAST', 'k-e10', NULL)$$, 'PT409', 'EXAM_IN_PAST',
                 'step 4 (past) comes before step 5 (missing location)');

-- 5. Fields each mock type requires --------------------------------------------------------------
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBR'', p_email := ''cbr@example.com'', p_mock_exam_id := ''CB_SJ2'', p_idempotency_key := ''k-f1'')'),
               '^PT400 INVALID_ARGUMENT: p_attending_location is required', 'Situational Judgment needs a location');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBR'', p_email := ''cbr@example.com'', p_mock_exam_id := ''CB_MM'', p_idempotency_key := ''k-f2'', p_dominant_hand := ''left'')'),
               '^PT400 INVALID_ARGUMENT: p_attending_location is required', 'Mini-mock needs a location');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBR'', p_email := ''cbr@example.com'', p_mock_exam_id := ''CB_CS'', p_idempotency_key := ''k-f3'', p_attending_location := ''calgary'')'),
               '^PT400 INVALID_ARGUMENT: p_dominant_hand is required', 'Clinical Skills needs a dominant hand');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.create_booking(p_student_id := ''CBR'', p_email := ''cbr@example.com'', p_mock_exam_id := ''CB_CS'', p_idempotency_key := ''k-f4'', p_dominant_hand := ''   '')'),
               '^PT400 INVALID_ARGUMENT: p_dominant_hand is required', 'a blank dominant hand does not count');
SELECT is(tests.book('CBR', 'CB_CS', 'k-f5', NULL, 'right') ->> 'token_used', 'Clinical Skills Token',
          'Clinical Skills needs no location');
SELECT is(tests.book('CBR', 'CB_MD', 'k-f6', NULL, NULL) ->> 'token_used', 'Mock Discussion Token',
          'Mock Discussion needs neither location nor hand');

-- 6. Prerequisites -----------------------------------------------------------------------------
SELECT matches(tests.rpc_error('service_role', 'tests.book(''CBPRE'', ''CB_NEEDS'', ''k-p1'')'),
               '^PT422 PREREQUISITE_NOT_MET: .*missing: CB_PRE1, CB_PRE2\.$',
               'no prerequisite booked: PREREQUISITE_NOT_MET lists both');
DO $$ BEGIN PERFORM tests.seed_booking('CBPRE', 'CB_PRE2', p_status := 'Cancelled'); END $$;
SELECT matches(tests.rpc_error('service_role', 'tests.book(''CBPRE'', ''CB_NEEDS'', ''k-p2'')'),
               'missing: CB_PRE1, CB_PRE2\.$', 'a Cancelled prerequisite booking does not count');
SELECT is(tests.book('CBPRE', 'CB_PRE1', 'k-p3') ->> 'status', 'Active', 'the student books the first prerequisite');
SELECT matches(tests.rpc_error('service_role', 'tests.book(''CBPRE'', ''CB_NEEDS'', ''k-p4'')'),
               'missing: CB_PRE2\.$', 'an Active prerequisite counts: only the other one is missing');
DO $$ BEGIN PERFORM tests.seed_booking('CBPRE', 'CB_PRE2', p_status := 'Completed', p_attendance := 'Yes'); END $$;
SELECT is(tests.book('CBPRE', 'CB_NEEDS', 'k-p5') ->> 'status', 'Active',
          'with Active and Completed prerequisite bookings the exam is bookable');
SELECT throws_ok($$SELECT tests.book('CBNONE', 'CB_NEEDS', 'k-p6')$$, 'PT422', 'PREREQUISITE_NOT_MET',
                 'step 6 (prerequisites) comes before step 9 (credits)');

-- 7. Duplicate: one Active/Completed booking per mock type and day -------------------------------
SELECT is(tests.book('CBDUP', 'CB_SJ', 'k-d1') ->> 'status', 'Active', 'a first SJ booking on day D');
SELECT tests.snapshot('dup');
SELECT throws_ok($$SELECT tests.book('CBDUP', 'CB_SJ2', 'k-d2')$$, 'PT409', 'DUPLICATE_BOOKING',
                 'a second SJ exam on the same day is refused');
SELECT throws_ok($$SELECT tests.book('CBDUP', 'CB_SJ', 'k-d3')$$, 'PT409', 'DUPLICATE_BOOKING',
                 'the same exam twice (another key) is refused');
SELECT ok(tests.unchanged_since('dup'), 'refused duplicates change nothing');
SELECT is(tests.book('CBDUP', 'CB_SJ3', 'k-d4') ->> 'status', 'Active', 'the same type on another day is fine');
SELECT is(tests.book('CBDUP', 'CB_CS', 'k-d5', NULL, 'left') ->> 'status', 'Active',
          'another type on the same day is fine');
UPDATE hubspot_sync.hubspot_bookings SET is_active = 'Completed', attendance = 'Yes'
WHERE student_id = 'CBDUP' AND associated_mock_exam = 'CB_SJ';
UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = total_bookings - 1 WHERE hubspot_id = 'CB_SJ';
SELECT throws_ok($$SELECT tests.book('CBDUP', 'CB_SJ2', 'k-d6')$$, 'PT409', 'DUPLICATE_BOOKING',
                 'a Completed booking on that day also counts');
UPDATE hubspot_sync.hubspot_bookings SET is_active = 'Cancelled', attendance = NULL
WHERE student_id = 'CBDUP' AND associated_mock_exam = 'CB_SJ';
SELECT is(tests.book('CBDUP', 'CB_SJ2', 'k-d7') ->> 'status', 'Active', 'a Cancelled booking does not count');
UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 0 WHERE hubspot_id = 'CB_SJ';
SELECT throws_ok($$SELECT tests.book('CBDUP', 'CB_SJ', 'k-d8')$$, 'PT409', 'DUPLICATE_BOOKING',
                 'step 7 (duplicate) comes before step 8 (full)');
UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 10 WHERE hubspot_id = 'CB_SJ';

-- 8. Capacity ----------------------------------------------------------------------------------
SELECT is(tests.book('CBR', 'CB_FULL', 'k-cap1') ->> 'total_bookings', '1', 'the last seat is taken');
SELECT tests.snapshot('full');
SELECT throws_ok($$SELECT tests.book('CBR2', 'CB_FULL', 'k-cap2')$$, 'PT409', 'EXAM_FULL',
                 'a full exam is refused');
SELECT ok(tests.unchanged_since('full'), 'EXAM_FULL changes nothing: no credit, row, ledger or count');
SELECT throws_ok($$SELECT tests.book('CBR2', 'CB_NULLCAP', 'k-cap3')$$, 'PT409', 'EXAM_FULL',
                 'an exam without a capacity has no seats');
SELECT throws_ok($$SELECT tests.book('CBNONE', 'CB_FULL', 'k-cap4')$$, 'PT409', 'EXAM_FULL',
                 'step 8 (full) comes before step 9 (no credits)');

-- 9. The credit table --------------------------------------------------------------------------
SELECT is(tests.book('CBSH', 'CB_SJ', 'k-t1') - ARRAY['id', 'booking_id', 'exam_date', 'total_bookings', 'capacity', 'idempotent_replay', 'success', 'status', 'mock_exam_id', 'student_id', 'starts_at', 'ends_at', 'time_zone'],
          '{"mock_type": "Situational Judgment", "token_used": "Shared Token",
            "credit_field": "shared_mock_credits", "credits_remaining": 0}'::jsonb,
          'SJ without sj credits falls back to a shared credit (Shared Token)');
SELECT is(tests.ledger_of('CBSH'), ARRAY['shared_mock_credits -1 0 booking'], 'the ledger shows the shared credit');
SELECT is(tests.book('CBCS', 'CB_CS', 'k-t2', NULL, 'left') ->> 'token_used', 'Clinical Skills Token',
          'CS spends a cs credit first');
SELECT is(ARRAY[tests.balance('CBCS', 'cs_credits'), tests.balance('CBCS', 'shared_mock_credits')], ARRAY[0, 1],
          'CS: cs credit spent, shared untouched');
SELECT is(tests.book('CBCSSH', 'CB_CS', 'k-t3', NULL, 'left') ->> 'token_used', 'Shared Token',
          'CS without cs credits falls back to a shared credit');
SELECT is(tests.balance('CBCSSH', 'shared_mock_credits'), 0, 'CS: shared credit spent');
SELECT tests.snapshot('credits');
SELECT throws_ok($$SELECT tests.book('CBMMNO', 'CB_MM', 'k-t4')$$, 'PT402', 'INSUFFICIENT_CREDITS',
                 'Mini-mock never falls back to shared credits');
SELECT throws_ok($$SELECT tests.book('CBMDNO', 'CB_MD', 'k-t5', NULL)$$, 'PT402', 'INSUFFICIENT_CREDITS',
                 'Mock Discussion never falls back to shared credits');
SELECT throws_ok($$SELECT tests.book('CBNONE', 'CB_SJ', 'k-t6')$$, 'PT402', 'INSUFFICIENT_CREDITS',
                 'no credit at all is refused');
SELECT throws_ok($$SELECT tests.book('CBR', 'CB_XX', 'k-t7')$$, 'PT400', 'INVALID_EXAM_TYPE',
                 'an unknown mock type is refused');
SELECT ok(tests.unchanged_since('credits'), 'refused credit checks change nothing');
SELECT is(tests.book('CBMM', 'CB_MM', 'k-t8') ->> 'credit_field', 'sjmini_credits', 'Mini-mock spends sjmini_credits');
SELECT is(tests.book('CBMD', 'CB_MD', 'k-t9', NULL) ->> 'credit_field', 'mock_discussion_token',
          'Mock Discussion spends mock_discussion_token');
SELECT is(ARRAY[tests.balance('CBMM', 'sjmini_credits'), tests.balance('CBMD', 'mock_discussion_token')], ARRAY[0, 0],
          'Mini-mock and Mock Discussion credits spent');
UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = NULL, shared_mock_credits = 1
WHERE student_id = 'CBNONE';
SELECT is(tests.book('CBNONE', 'CB_SJ', 'k-t10') ->> 'credit_field', 'shared_mock_credits',
          'a NULL balance counts as zero');

-- 10. The row: caller's code, name and mock set; contact without HubSpot id -----------------------
SELECT is(tests.rpc('service_role', $$hubspot_sync.create_booking(p_student_id := 'CBR2', p_email := 'cbr2@example.com', p_mock_exam_id := 'CB_SJ', p_idempotency_key := 'k-r1', p_attending_location := 'montreal', p_student_name := 'Dr. Who', p_mock_set := 'C', p_booking_id := 'BK-CUSTOM-1')$$) ->> 'booking_id',
          'BK-CUSTOM-1', 'the caller''s booking code is used');
SELECT results_eq($$SELECT name, mock_set::text FROM hubspot_sync.hubspot_bookings WHERE booking_id = 'BK-CUSTOM-1'$$,
                  $$VALUES ('Dr. Who', 'C')$$, 'the caller''s name and mock set are stored');
SELECT tests.snapshot('code');
SELECT matches(tests.rpc_error('service_role', $$hubspot_sync.create_booking(p_student_id := 'CBR2', p_email := 'cbr2@example.com', p_mock_exam_id := 'CB_SJ3', p_idempotency_key := 'k-r2', p_attending_location := 'montreal', p_booking_id := 'BK-CUSTOM-1')$$),
               '^PT400 INVALID_ARGUMENT: p_booking_id', 'a booking code already in use is refused (no raw 23505)');
SELECT ok(tests.unchanged_since('code'), 'and changes nothing: the credit spent before the insert is undone');
SELECT is(tests.book('CBNOHS', 'CB_SJ', 'k-r3') ->> 'status', 'Active', 'a contact HubSpot does not know yet can book');
SELECT results_eq($$SELECT associated_contact_id, ndecc_exam_date FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'k-r3'$$,
                  $$VALUES (NULL::text, NULL::text)$$, 'its booking has no associated_contact_id yet');

-- Invariants -----------------------------------------------------------------------------------
SELECT is_empty('SELECT * FROM tests.invariant_violations()', 'every exam: total_bookings = Active bookings');
SELECT is((SELECT count(*) FROM hubspot_sync.credit_ledger l JOIN hubspot_sync.hubspot_bookings b ON b.id = l.booking_id
           WHERE b.student_id LIKE 'CB%'),
          (SELECT count(*) FROM hubspot_sync.hubspot_bookings b WHERE b.student_id LIKE 'CB%' AND b.booking_id LIKE 'BK-%' AND b.booking_id NOT LIKE 'BK-T-%'),
          'one ledger row per booking made by create_booking');

SELECT * FROM finish();
ROLLBACK;
