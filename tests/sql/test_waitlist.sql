-- The waitlist: join_waitlist, leave_waitlist, accept_offer, offer_free_seats,
-- process_waitlist, and held offers counted by take_seat / check_exam_for_student.
-- A story on one 2-seat exam: two students fill it, three wait; a cancellation, a raised
-- capacity, a declined offer and an expiry each pass a seat along, and the exam is never
-- overbooked (Active bookings + held offers <= capacity, checked after each step).
BEGIN;
SELECT plan(96);

CREATE TEMP TABLE fns (sig regprocedure, vol text);
INSERT INTO fns VALUES
    ('hubspot_sync.join_waitlist(text,text,text,text,text)', 'v'),
    ('hubspot_sync.leave_waitlist(text,text)', 'v'),
    ('hubspot_sync.accept_offer(text,text,text)', 'v'),
    ('mockbook_internal.offer_free_seats(text)', 'v'),
    ('hubspot_sync.process_waitlist(text)', 'v');
-- 5 functions x 5 catalog checks
SELECT ok(NOT has_function_privilege('anon', sig, 'EXECUTE') AND NOT has_function_privilege('authenticated', sig, 'EXECUTE')
          AND NOT has_function_privilege('public', sig, 'EXECUTE'),
          format('%s: PUBLIC, anon and authenticated may not execute it', sig)) FROM fns;
SELECT ok(has_function_privilege('service_role', sig, 'EXECUTE') = (sig::text LIKE 'hubspot_sync.%'),
          format('%s: service_role may %s', sig,
                 CASE WHEN sig::text LIKE 'hubspot_sync.%' THEN 'execute it (the API)'
                      ELSE 'not execute it (internal)' END)) FROM fns;
SELECT ok((SELECT proconfig @> ARRAY['search_path=""'] AND prosecdef = (sig::text LIKE 'hubspot_sync.%')
           FROM pg_proc WHERE oid = sig),
          format('%s: search_path pinned, SECURITY DEFINER in the API, INVOKER inside', sig)) FROM fns;
SELECT is((SELECT provolatile::text FROM pg_proc WHERE oid = sig), vol, format('%s: volatility %s', sig, vol)) FROM fns;
SELECT ok(obj_description(sig, 'pg_proc') IS NOT NULL AND tests.plpgsql_check_count(sig) = 0,
          format('%s: has a comment, plpgsql_check clean', sig)) FROM fns;

-- Helpers for this file: calls through PostgREST as service_role, and the seat count.
CREATE FUNCTION pg_temp.join(p_student text, p_exam text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT tests.rpc('service_role', format(
        'hubspot_sync.join_waitlist(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_attending_location := %L)',
        p_student, tests.email_of(p_student), p_exam, 'calgary'))
$$;
CREATE FUNCTION pg_temp.accept(p_student text, p_exam text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT tests.rpc('service_role', format(
        'hubspot_sync.accept_offer(p_student_id := %L, p_email := %L, p_mock_exam_id := %L)',
        p_student, tests.email_of(p_student), p_exam))
$$;
CREATE FUNCTION pg_temp.accept_error(p_student text, p_exam text) RETURNS text LANGUAGE sql AS $$
    SELECT tests.rpc_error('service_role', format(
        'hubspot_sync.accept_offer(p_student_id := %L, p_email := %L, p_mock_exam_id := %L)',
        p_student, tests.email_of(p_student), p_exam))
$$;
CREATE FUNCTION pg_temp.leave(p_student text, p_exam text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT tests.rpc('service_role', format('hubspot_sync.leave_waitlist(%L, %L)', p_student, p_exam))
$$;
-- 'total_bookings+held/capacity' of an exam
CREATE FUNCTION pg_temp.seats(p_exam text) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s+%s/%s', e.total_bookings,
                  (SELECT count(*) FROM hubspot_sync.waitlist_entries w
                   WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'offered'), e.capacity)
    FROM hubspot_sync.hubspot_mock_exams e WHERE e.hubspot_id = p_exam
$$;
CREATE FUNCTION pg_temp.status_of(p_student text, p_exam text) RETURNS text LANGUAGE sql AS $$
    SELECT status FROM hubspot_sync.waitlist_entries
    WHERE student_id = p_student AND mock_exam_id = p_exam ORDER BY id DESC LIMIT 1
$$;

DO $$ BEGIN
    PERFORM tests.isolate();  -- process_waitlist's counts cover every exam
    PERFORM tests.make_exam(p_hubspot_id := 'WL_1', p_capacity := 2);
    PERFORM tests.make_exam(p_hubspot_id := 'WL_OPEN', p_capacity := 5);
    PERFORM tests.make_exam(p_hubspot_id := 'WL_3', p_capacity := 1,
                            p_exam_date := hubspot_sync.business_today() + 8);
    PERFORM tests.make_student(p_sj := 2, p_student_id := s) FROM unnest(ARRAY['WA', 'WB', 'WC', 'WD', 'WE', 'WF', 'WG', 'WH']) AS s;
    PERFORM tests.book('WA', 'WL_1', 'wl-a');
    PERFORM tests.book('WB', 'WL_1', 'wl-b');
    PERFORM tests.book('WA', 'WL_3', 'wl-a3');
END $$;

-- join_waitlist --------------------------------------------------------------------------------
SELECT throws_ok($$SELECT tests.rpc('anon', 'hubspot_sync.join_waitlist(''WC'', ''wc@example.com'', ''WL_1'', ''calgary'', NULL)')$$,
                 '42501', NULL, 'anon may not join a waitlist');
SELECT is(pg_temp.join('WC', 'WL_1') - 'waitlist_id',
          '{"success": true, "already_waiting": false, "mock_exam_id": "WL_1", "student_id": "WC",
            "status": "waiting", "position": 1, "offer_expires_at": null}'::jsonb,
          'WC joins the full exam: first in line');
SELECT is((pg_temp.join('WD', 'WL_1') ->> 'position')::integer, 2, 'WD second');
SELECT is((pg_temp.join('WE', 'WL_1') ->> 'position')::integer, 3, 'WE third');
SELECT is(pg_temp.join('WC', 'WL_1') - 'waitlist_id',
          '{"success": true, "already_waiting": true, "mock_exam_id": "WL_1", "student_id": "WC",
            "status": "waiting", "position": 1, "offer_expires_at": null}'::jsonb,
          'joining again is idempotent: the same place back');
SELECT is((SELECT count(*) FROM hubspot_sync.waitlist_entries WHERE student_id = 'WC'), 1::bigint,
          'one place per student and exam');
SELECT is(tests.rpc_error('service_role', 'hubspot_sync.join_waitlist(''WC'', ''wc@example.com'', ''WL_OPEN'', ''calgary'')'),
          'PT409 EXAM_NOT_FULL: Exam WL_OPEN has free seats (0 of 5 booked, 0 held for offers).',
          'an exam with free seats cannot be waited for: EXAM_NOT_FULL');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.join_waitlist(''WA'', ''wa@example.com'', ''WL_1'', ''calgary'')'),
               '^PT409 DUPLICATE_BOOKING', 'a student booked on the exam cannot wait for it');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.join_waitlist(''WF'', ''wf@example.com'', ''WL_1'')'),
               '^PT400 INVALID_ARGUMENT', 'a new place needs what booking needs (SJ: a location)');
SELECT matches(tests.rpc_error('service_role', 'hubspot_sync.join_waitlist(''NOBODY'', ''no@example.com'', ''WL_1'', ''calgary'')'),
               '^PT404 CONTACT_NOT_FOUND', 'unknown student: CONTACT_NOT_FOUND');
SELECT is(pg_temp.seats('WL_1'), '2+0/2', 'waiting takes no seat');

-- a cancellation offers the seat to the first in line ---------------------------------------------
SELECT is(tests.rpc('service_role', 'hubspot_sync.cancel_booking(' || quote_literal(
              (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'wl-a')) || ')') ->> 'total_bookings',
          '1', 'WA cancels');
SELECT is(pg_temp.status_of('WC', 'WL_1'), 'offered', 'the freed seat is offered to WC, first in line');
SELECT is((SELECT offer_expires_at - offered_at FROM hubspot_sync.waitlist_entries WHERE student_id = 'WC'),
          interval '60 minutes', 'the offer holds the seat for offer_hold_minutes (default 60)');
SELECT is(pg_temp.seats('WL_1'), '1+1/2', 'the held seat counts against capacity');
SELECT is(pg_temp.join('WC', 'WL_1') ->> 'status', 'offered', 'join_waitlist shows the offer');
SELECT is(tests.rpc_error('service_role', format(
              'hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_idempotency_key := %L, p_attending_location := %L)',
              'WF', 'wf@example.com', 'WL_1', 'wl-f', 'mississauga')),
          'PT409 EXAM_FULL: Exam WL_1 is full (1 of 2 seats booked).',
          'nobody else can book the held seat (EXAM_FULL)');
SELECT throws_ok($$SELECT mockbook_internal.take_seat(e) FROM hubspot_sync.hubspot_mock_exams e WHERE hubspot_id = 'WL_1'$$,
                 'PT409', 'EXAM_FULL', 'take_seat itself counts the held offer (the locked re-check)');
SELECT is(pg_temp.accept_error('WD', 'WL_1'),
          'PT404 OFFER_NOT_FOUND: WD holds no offer for exam WL_1 (place waiting).',
          'a student still waiting has no offer to accept');
SELECT is(pg_temp.accept_error('WF', 'WL_1'),
          'PT404 OFFER_NOT_FOUND: WF holds no offer for exam WL_1 (not on its waitlist).',
          'a student not on the waitlist has no offer');

-- accept_offer ----------------------------------------------------------------------------------
SELECT is(pg_temp.accept('WC', 'WL_1') - 'id' - 'booking_id' - 'exam_date' - 'waitlist_id'
              - 'starts_at' - 'ends_at' - 'time_zone',
          '{"success": true, "idempotent_replay": false, "status": "Active", "mock_exam_id": "WL_1",
            "mock_type": "Situational Judgment", "student_id": "WC", "token_used": "Situational Judgment Token",
            "credit_field": "sj_credits", "credits_remaining": 1, "total_bookings": 2, "capacity": 2}'::jsonb,
          'WC accepts: booked, one credit spent now, the held seat taken');
SELECT is(pg_temp.status_of('WC', 'WL_1'), 'accepted', 'the place is accepted');
SELECT is((SELECT b.attending_location FROM hubspot_sync.hubspot_bookings b
           JOIN hubspot_sync.waitlist_entries w ON w.booking_id = b.id WHERE w.student_id = 'WC'),
          'calgary', 'the booking carries the location given when joining');
SELECT is(tests.ledger_of('WC'), ARRAY['sj_credits -1 1 booking'], 'one ledger row, reason booking');
SELECT is(pg_temp.seats('WL_1'), '2+0/2', 'accepted: 2 Active, nothing held');
SELECT is(pg_temp.accept('WC', 'WL_1') ->> 'idempotent_replay', 'true', 'accepting again replays, changes nothing');
SELECT is(tests.ledger_of('WC'), ARRAY['sj_credits -1 1 booking'], 'the replay spent nothing');

-- a raised capacity offers the new seat ------------------------------------------------------
SELECT is(tests.rpc('service_role', 'hubspot_sync.set_exam_capacity(''WL_1'', 3)') ->> 'offers_made', '1',
          'set_exam_capacity 3 makes one offer');
SELECT is(pg_temp.status_of('WD', 'WL_1'), 'offered', 'WD, next in line, holds it');
SELECT is(pg_temp.seats('WL_1'), '2+1/3', 'held');

-- leaving with an offer declines it: the next student gets it ---------------------------------
SELECT is(pg_temp.leave('WD', 'WL_1') - 'waitlist_id',
          '{"success": true, "left": true, "previous_status": "offered", "offers_made": 1}'::jsonb,
          'WD leaves, declining the offer; it passes on at once');
SELECT is(pg_temp.status_of('WE', 'WL_1'), 'offered', 'WE holds the seat now');
SELECT is(pg_temp.leave('WD', 'WL_1') - 'waitlist_id',
          '{"success": true, "left": false, "previous_status": null, "offers_made": 0}'::jsonb,
          'leaving again is idempotent');
SELECT is(pg_temp.seats('WL_1'), '2+1/3', 'still one held seat');

-- an expired offer passes on ---------------------------------------------------------------------
SELECT is((pg_temp.join('WG', 'WL_1') ->> 'position')::integer, 1, 'WG joins behind the offer');
UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now() - interval '1 second' WHERE student_id = 'WE';
SELECT matches(pg_temp.accept_error('WE', 'WL_1'), '^PT409 OFFER_EXPIRED: The offer of exam WL_1 to WE expired at ',
               'an offer past its expiry cannot be accepted');
SELECT is(tests.rpc('service_role', 'hubspot_sync.process_waitlist()'),
          '{"success": true, "closed": 0, "left": 0, "expired": 1, "offered": 1, "exams_busy": 0}'::jsonb,
          'process_waitlist expires it and offers the seat to the next student');
SELECT is(ARRAY[pg_temp.status_of('WE', 'WL_1'), pg_temp.status_of('WG', 'WL_1')], ARRAY['expired', 'offered'],
          'WE expired (once), WG offered');
SELECT is(tests.rpc('service_role', 'hubspot_sync.process_waitlist()'),
          '{"success": true, "closed": 0, "left": 0, "expired": 0, "offered": 0, "exams_busy": 0}'::jsonb,
          'a second run finds nothing to do');
SELECT matches(pg_temp.accept_error('WE', 'WL_1'), '^PT409 OFFER_EXPIRED', 'an expired place stays expired');
SELECT is(pg_temp.leave('WG', 'WL_1') ->> 'offers_made', '0', 'WG declines; nobody else is waiting');
SELECT is(pg_temp.seats('WL_1'), '2+0/3', 'the seat is free again');
SELECT is(tests.book('WF', 'WL_1', 'wl-f2') ->> 'total_bookings', '3', 'and anyone may book it');

-- waitlist_size ------------------------------------------------------------------------------------
UPDATE hubspot_sync.booking_rules SET value = '1' WHERE rule = 'waitlist_size';
SELECT is(pg_temp.join('WH', 'WL_3') ->> 'position', '1', 'waitlist_size 1: the first student waits');
SELECT is(tests.rpc_error('service_role', 'hubspot_sync.join_waitlist(''WG'', ''wg@example.com'', ''WL_3'', ''calgary'')'),
          'PT409 WAITLIST_FULL: Exam WL_3 already has 1 students waiting (the limit).',
          'the second is refused: WAITLIST_FULL');
UPDATE hubspot_sync.booking_rules SET value = 'null' WHERE rule = 'waitlist_size';

-- process_waitlist catches up with seats freed outside the booking functions (HubSpot pull) ------
UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 2 WHERE hubspot_id = 'WL_3';
SELECT is(pg_temp.status_of('WH', 'WL_3'), 'waiting', 'a capacity written directly offers nothing by itself');
SELECT is(tests.rpc('service_role', 'hubspot_sync.process_waitlist()') ->> 'offered', '1',
          'process_waitlist offers the free seat');
SELECT is(pg_temp.status_of('WH', 'WL_3'), 'offered', 'to WH');
-- a past exam offers nothing
SELECT is(pg_temp.join('WG', 'WL_3') ->> 'status', 'waiting', 'WG waits on WL_3 (1 booked + 1 held of 2)');
UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 3, exam_date = hubspot_sync.business_today() - 1
WHERE hubspot_id = 'WL_3';
SELECT is(tests.rpc('service_role', 'hubspot_sync.process_waitlist()') - 'expired' - 'exams_busy',
          '{"success": true, "closed": 2, "left": 0, "offered": 0}'::jsonb,
          'a past exam''s free seat is offered to nobody; its open places (waiting, offered) are closed');
SELECT is(ARRAY[pg_temp.status_of('WH', 'WL_3'), pg_temp.status_of('WG', 'WL_3')], ARRAY['closed', 'closed'],
          'WH''s offer and WG''s waiting place are closed');
SELECT ok((SELECT bool_and(resolved_at IS NOT NULL) FROM hubspot_sync.waitlist_entries WHERE status = 'closed'),
          'a closed place is resolved');
SELECT is(tests.rpc('service_role', 'hubspot_sync.process_waitlist()') ->> 'closed', '0', 'each place is closed once');
UPDATE hubspot_sync.hubspot_mock_exams SET exam_date = hubspot_sync.business_today() + 8 WHERE hubspot_id = 'WL_3';
SELECT is(pg_temp.seats('WL_3'), '1+0/3', 'the closed offer holds no seat any more');

-- one free seat, one offer: three students wait on a fresh 1-seat exam, its booking is cancelled
DO $$ BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'WL_ONE', p_capacity := 1,
                            p_exam_date := hubspot_sync.business_today() + 20);
    PERFORM tests.book('WA', 'WL_ONE', 'wl-one');
    PERFORM pg_temp.join(s, 'WL_ONE') FROM unnest(ARRAY['WB', 'WC', 'WD']) AS s;
END $$;
SELECT is(tests.rpc('service_role', 'hubspot_sync.cancel_booking(' || quote_literal(
              (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'wl-one')) || ')') ->> 'total_bookings',
          '0', 'WA cancels the 1-seat exam');
SELECT is(ARRAY(SELECT status FROM hubspot_sync.waitlist_entries WHERE mock_exam_id = 'WL_ONE' ORDER BY id),
          ARRAY['offered', 'waiting', 'waiting'], 'the one freed seat is offered to the first in line only');

-- the outbox: each place's state is queued for the push (a HubSpot booking object, WL-<id>) ------
SELECT is((SELECT booking_code FROM hubspot_sync.waitlist_entries WHERE student_id = 'WB' AND mock_exam_id = 'WL_ONE'),
          'WL-' || (SELECT id FROM hubspot_sync.waitlist_entries WHERE student_id = 'WB' AND mock_exam_id = 'WL_ONE'),
          'a place''s booking code is WL-<its id>');
SELECT is(ARRAY(SELECT q.operation || ':' || (q.new_data ->> 'status') FROM hubspot_sync.sync_queue q
                JOIN hubspot_sync.waitlist_entries w ON w.sync_id = q.record_id
                WHERE q.table_name = 'waitlist_entries' AND w.student_id = 'WB' AND w.mock_exam_id = 'WL_ONE'
                ORDER BY q.id),
          ARRAY['INSERT:waiting', 'UPDATE:offered'], 'joined and offered: two outbox rows, keyed by sync_id');
SELECT is((SELECT p.state ->> 'is_active' FROM mockbook_internal.push_state('waitlist_entries',
              ARRAY(SELECT sync_id FROM hubspot_sync.waitlist_entries WHERE student_id = 'WB' AND mock_exam_id = 'WL_ONE')) AS p),
          'Offered', 'push_state shows the place as a booking, is_active Offered');
SELECT throws_ok($$SELECT * FROM mockbook_internal.push_state('waitlist', ARRAY[]::uuid[])$$, 'PT400',
                 'INVALID_ARGUMENT',
                 'push_state: an unknown table is INVALID_ARGUMENT');
SELECT lives_ok($$
    SELECT set_config('mockbook.origin', 'sync', true);
    UPDATE hubspot_sync.waitlist_entries SET hubspot_id = 'HS1' WHERE student_id = 'WC' AND mock_exam_id = 'WL_ONE';
    SELECT set_config('mockbook.origin', '', true);
    UPDATE hubspot_sync.waitlist_entries SET hubspot_last_sync_at = now() WHERE student_id = 'WC' AND mock_exam_id = 'WL_ONE'
$$, 'the push''s write-back');
SELECT is((SELECT count(*) FROM hubspot_sync.sync_queue q JOIN hubspot_sync.waitlist_entries w ON w.sync_id = q.record_id
           WHERE w.student_id = 'WC' AND w.mock_exam_id = 'WL_ONE'), 1::bigint,
          'the write-back of hubspot_id and a bookkeeping change queue nothing (the join only)');
SELECT is(mockbook_internal.offer_free_seats('NO_SUCH_EXAM'), 0, 'offer_free_seats: no exam, no offer');

-- accept_offer's key, waitlist-offer-<place id>: a prefix reserved for it ------------------------
-- (a caller's booking holding that key made accept_offer's own insert answer NULL, and the
-- place's update then failed with a raw 23514: tests/py/rpc/test_contract.py)
CREATE FUNCTION pg_temp.wb_key() RETURNS text LANGUAGE sql AS $$
    SELECT 'waitlist-offer-' || id FROM hubspot_sync.waitlist_entries
    WHERE student_id = 'WB' AND mock_exam_id = 'WL_ONE'
$$;
SELECT matches(tests.rpc_error('service_role', format(
                   'hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, p_idempotency_key := %L, p_attending_location := %L)',
                   'WH', 'wh@example.com', 'WL_OPEN', pg_temp.wb_key(), 'calgary')),
               '^PT400 INVALID_ARGUMENT: p_idempotency_key .* reserved',
               'create_booking refuses a key starting with waitlist-offer- (reserved for accept_offer)');
SELECT matches(tests.rpc_error('service_role',
                   'hubspot_sync.cancel_booking(p_booking_id := ''NO-SUCH'', p_idempotency_key := ''Waitlist-Offer-x'')'),
               '^PT400 INVALID_ARGUMENT: p_idempotency_key .* reserved',
               'so does every keyed write, in any case, before the booking is looked up');
-- a booking made before the prefix was reserved, holding WB's offer key
DO $$ BEGIN PERFORM tests.book('WH', 'WL_OPEN', 'wl-legacy'); END $$;
UPDATE hubspot_sync.hubspot_bookings SET idempotency_key = pg_temp.wb_key() WHERE idempotency_key = 'wl-legacy';
SELECT is(pg_temp.accept('WB', 'WL_ONE') ->> 'idempotent_replay', 'false',
          'the offer is still accepted when an older booking holds its key');
SELECT ok((SELECT b.idempotency_key = format('%s-%s', pg_temp.wb_key(), b.id)
           FROM hubspot_sync.hubspot_bookings b JOIN hubspot_sync.waitlist_entries w ON w.booking_id = b.id
           WHERE w.student_id = 'WB' AND w.mock_exam_id = 'WL_ONE'),
          'its booking''s key is waitlist-offer-<place id>-<booking uuid>');
SELECT is(pg_temp.status_of('WB', 'WL_ONE'), 'accepted', 'the place is accepted');
SELECT is(pg_temp.accept('WB', 'WL_ONE') ->> 'idempotent_replay', 'true', 'accepting again replays it');

SELECT is(ARRAY(SELECT tests.invariant_violations()), '{}'::text[], 'the invariants hold');
SELECT is((SELECT count(*) FROM hubspot_sync.hubspot_mock_exams e
           WHERE e.total_bookings + (SELECT count(*) FROM hubspot_sync.waitlist_entries w
                                     WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'offered') > e.capacity),
          0::bigint, 'no exam holds more Active bookings + offers than seats');

SELECT * FROM finish();
ROLLBACK;
