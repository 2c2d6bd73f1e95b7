-- The internal helpers of the booking functions: nobody but their owner may call them, each
-- pins search_path and is plpgsql_check-clean, and the ones whose behaviour the RPC tests cannot
-- reach (races, collisions) are exercised directly.
BEGIN;
SELECT plan(115);

CREATE TEMP TABLE helpers (sig regprocedure, vol text);
INSERT INTO helpers VALUES
    ('mockbook_internal.check_text_arg(text,text,boolean,integer,text,text)', 's'),
    ('mockbook_internal.validate_booking_args(text,text,text,text,text,text,text)', 's'),
    ('mockbook_internal.booking_fingerprint(text[])', 'i'),
    ('mockbook_internal.claim_idempotency_key(text,text)', 'v'),
    ('mockbook_internal.find_contact(text,text)', 's'),
    ('mockbook_internal.find_exam(text)', 's'),
    ('mockbook_internal.check_exam_for_student(hubspot_sync.hubspot_mock_exams,text,text,text,boolean,boolean,uuid,timestamptz,text)', 's'),
    ('mockbook_internal.credit_balance(hubspot_sync.hubspot_contact_credits,text)', 'i'),
    ('mockbook_internal.pick_credit(hubspot_sync.hubspot_contact_credits,text)', 's'),
    ('mockbook_internal.credit_field_of_token(text)', 'i'),
    ('mockbook_internal.new_booking_code(date)', 'v'),
    ('mockbook_internal.new_booking_uuid()', 'v'),
    ('mockbook_internal.new_booking_row(hubspot_sync.hubspot_contact_credits,hubspot_sync.hubspot_mock_exams,text,text,text,hubspot_sync.mock_set_letter,text,text,text,text)', 'v'),
    ('mockbook_internal.insert_booking(hubspot_sync.hubspot_bookings,date)', 'v'),
    ('mockbook_internal.booking_result(hubspot_sync.hubspot_bookings,boolean)', 's'),
    ('mockbook_internal.booking_by_ref(text)', 's'),
    ('mockbook_internal.contact_id_of_booking(hubspot_sync.hubspot_bookings)', 's'),
    ('mockbook_internal.cancel_locked_booking(uuid,text,boolean,text,text)', 'v');

-- 18 helpers x 5 catalog checks
SELECT ok(NOT has_function_privilege('anon', sig, 'EXECUTE') AND NOT has_function_privilege('authenticated', sig, 'EXECUTE'),
          format('%s: anon and authenticated may not execute it', sig)) FROM helpers;
SELECT ok(has_function_privilege('service_role', sig, 'EXECUTE') = (sig::text LIKE 'hubspot_sync.%'),
          format('%s: service_role may %s', sig,
                 CASE WHEN sig::text LIKE 'hubspot_sync.%' THEN 'execute it (the API)'
                      ELSE 'not execute it (internal)' END)) FROM helpers;
SELECT ok((SELECT proconfig @> ARRAY['search_path=""'] AND prosecdef = (sig::text LIKE 'hubspot_sync.%')
           FROM pg_proc WHERE oid = sig),
          format('%s: search_path pinned, SECURITY DEFINER in the API, INVOKER inside', sig)) FROM helpers;
SELECT is((SELECT provolatile::text FROM pg_proc WHERE oid = sig), vol, format('%s: volatility %s', sig, vol)) FROM helpers;
SELECT is(CASE WHEN (SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.oid = sig) = 'plpgsql'
               THEN tests.plpgsql_check_count(sig) ELSE 0 END, 0::bigint,
          format('%s: plpgsql_check clean', sig)) FROM helpers;

DO $$
DECLARE
    d date := hubspot_sync.business_today() + 7;
BEGIN
    PERFORM tests.make_exam(p_hubspot_id := 'HX_1', p_exam_date := d);
    PERFORM tests.make_student(p_sj := 5, p_student_id := 'HXA');
    PERFORM tests.book('HXA', 'HX_1', 'hx-1');
END $$;

-- credit_rules-derived helpers -----------------------------------------------------------------
SELECT is(ARRAY(SELECT coalesce(mockbook_internal.credit_field_of_token(t), '-') FROM unnest(ARRAY[
              'Situational Judgment Token', 'Clinical Skills Token', 'Mini-mock Token', 'Mock Discussion Token',
              'Shared Token', 'Admin Override', NULL]) AS t),
          ARRAY['sj_credits', 'cs_credits', 'sjmini_credits', 'mock_discussion_token', 'shared_mock_credits', '-', '-'],
          'credit_field_of_token: each token names its field; Admin Override and NULL none');
SELECT is(ARRAY(SELECT format('%s/%s', p.credit_field, p.token_used)
                FROM (VALUES ('Situational Judgment', 1, 0, 0, 0, 7), ('Situational Judgment', 0, 0, 0, 0, 7),
                             ('Clinical Skills', 0, 1, 0, 0, 7), ('Clinical Skills', 0, 0, 0, 0, 7),
                             ('Mini-mock', 0, 0, 1, 0, 7), ('Mock Discussion', 0, 0, 0, 1, 7)) AS v(t, sj, cs, mm, md, sh),
                     LATERAL mockbook_internal.pick_credit(ROW(gen_random_uuid(), NULL, 'X', 'x@x.x', NULL, NULL, sj, cs, mm, md, sh,
                                                          NULL, NULL, NULL, NULL, NULL)::hubspot_sync.hubspot_contact_credits, v.t) AS p),
          ARRAY['sj_credits/Situational Judgment Token', 'shared_mock_credits/Shared Token',
                'cs_credits/Clinical Skills Token', 'shared_mock_credits/Shared Token',
                'sjmini_credits/Mini-mock Token', 'mock_discussion_token/Mock Discussion Token'],
          'pick_credit: own field first, SJ/CS fall back to shared');
SELECT isnt(mockbook_internal.booking_fingerprint('booking', 'S', 'e', 'X', NULL, NULL),
            mockbook_internal.booking_fingerprint('booking', 'S', 'e', 'X', '', NULL),
            'booking_fingerprint: NULL and empty differ');
SELECT isnt(mockbook_internal.booking_fingerprint('booking', 'a|b', 'c'), mockbook_internal.booking_fingerprint('booking', 'a', 'b|c'),
            'booking_fingerprint: no separator ambiguity');
SELECT matches(mockbook_internal.new_booking_code(), '^BK-' || to_char(hubspot_sync.business_today(), 'YYYYMMDD') || '-[A-Z0-9]{6}$',
               'new_booking_code: BK-<business date>-6 upper-case alphanumerics');
-- the business zone's date, not the server's: 03:30 UTC on 14 March is 22:30 on the 13th in Toronto
SELECT set_config('mockbook.business_timezone_in_transaction', 'America/Toronto', true),
       set_config('mockbook.clock_offset',
                  (timestamptz '2027-03-14 03:30:00+00' - now())::text, true);
SELECT matches(mockbook_internal.new_booking_code(), '^BK-20270313-[A-Z0-9]{6}$',
               'new_booking_code: the business zone''s date where the UTC date is the next day');
-- a plain booking's code carries the date its common case read once (no call of its own)
SELECT tests.make_exam(p_hubspot_id := 'NBC_1', p_exam_date := date '2027-03-20');
SELECT matches(tests.book(tests.make_student(p_sj := 1), 'NBC_1', 'nbc-1') ->> 'booking_id',
               '^BK-20270313-[A-Z0-9]{6}$',
               'create_booking: the code''s date is the business zone''s where the UTC date is the next day');
SELECT matches(mockbook_internal.new_booking_code(date '2027-01-02'), '^BK-20270102-[A-Z0-9]{6}$',
               'new_booking_code: the caller''s business date when given');
SELECT set_config('mockbook.business_timezone_in_transaction', '', true),
       set_config('mockbook.clock_offset', '', true);
SELECT is((SELECT count(DISTINCT mockbook_internal.new_booking_code()) FROM generate_series(1, 500)), 500::bigint,
          'new_booking_code: 500 draws, no repeat');
-- each of the 6 places draws from all 36 characters (a place short of one: 36^6 codes no more);
-- 4,000 draws miss a character at some place with probability below 10^-46
SELECT is((SELECT array_agg(n ORDER BY k) FROM (
              SELECT k, count(DISTINCT substr(code, 12 + k, 1)) AS n
              FROM (SELECT mockbook_internal.new_booking_code() AS code
                    FROM generate_series(1, 4000)) AS draws, generate_series(1, 6) AS k
              GROUP BY k) AS places),
          ARRAY[36, 36, 36, 36, 36, 36]::bigint[],
          'new_booking_code: every place of the 6 draws from all 36 characters');

-- apply_credit_delta refuses a zero delta and an unknown field by itself, whatever its callers
-- checked before
CREATE TEMP TABLE delta_contact AS
SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = tests.make_student();
SELECT throws_ok($$SELECT mockbook_internal.apply_credit_delta((SELECT id FROM delta_contact),
                                                              'sj_credits', 0, 'test')$$,
                 'PT400', 'INVALID_ARGUMENT', 'apply_credit_delta: a zero delta is refused');
SELECT throws_ok($$SELECT mockbook_internal.apply_credit_delta((SELECT id FROM delta_contact),
                                                              'not_a_credit', 1, 'test')$$,
                 'PT400', 'INVALID_ARGUMENT', 'apply_credit_delta: an unknown field is refused');

-- new_booking_uuid: RFC 9562 version 7, its first 48 bits the time in milliseconds
CREATE TEMP TABLE uuids AS
SELECT g, u, ('x' || substr(replace(u::text, '-', ''), 1, 12))::bit(48)::bigint AS ms
FROM (SELECT g, mockbook_internal.new_booking_uuid() AS u FROM generate_series(1, 2000) AS g) AS x;
SELECT is((SELECT count(*)::int FROM uuids WHERE substr(u::text, 15, 1) = '7'
                                            AND substr(u::text, 20, 1) IN ('8', '9', 'a', 'b')), 2000,
          'new_booking_uuid: version 7, variant 10');
SELECT is((SELECT count(DISTINCT u)::int FROM uuids), 2000, 'new_booking_uuid: 2,000 draws, no repeat');
SELECT ok((SELECT bool_and(ms BETWEEN floor(extract(epoch FROM statement_timestamp()) * 1000) - 1
                                  AND floor(extract(epoch FROM clock_timestamp()) * 1000))
                  AND bool_and(ms >= prev)
           FROM (SELECT ms, lag(ms, 1, 0::bigint) OVER (ORDER BY g) AS prev FROM uuids) AS t),
          'new_booking_uuid: the time in milliseconds, never going back from one draw to the next');
SELECT is((SELECT substr((mockbook_internal.new_booking_row(c, e, 'mississauga', NULL, NULL, NULL,
                                                            'Situational Judgment Token', NULL, 'k',
                                                            'f')).id::text, 15, 1)
           FROM hubspot_sync.hubspot_contact_credits AS c, hubspot_sync.hubspot_mock_exams AS e
           LIMIT 1), '7', 'new_booking_row: the booking''s id is a new_booking_uuid');

-- insert_booking: unique violations never reach a caller raw -------------------------------------
CREATE TEMP TABLE hx AS SELECT * FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'hx-1';
DO $$
DECLARE
    v hubspot_sync.hubspot_bookings;
BEGIN
    SELECT * INTO v FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'hx-1';
    v.id := NULL; v.booking_id := NULL; v.idempotency_key := 'hx-other';
    CREATE TEMP TABLE hx_dup AS SELECT v AS b;                         -- duplicate rule
    v.is_active := 'Cancelled';
    v.idempotency_key := 'hx-1';
    CREATE TEMP TABLE hx_key AS SELECT v AS b;                         -- idempotency key taken
    v.idempotency_key := 'hx-new';
    v.booking_id := (SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE idempotency_key = 'hx-1');
    CREATE TEMP TABLE hx_code AS SELECT v AS b;                        -- caller's code taken
    v.booking_id := 'wl-424242';
    CREATE TEMP TABLE hx_wl AS SELECT v AS b;                          -- a waitlist place's code
END $$;
SELECT throws_ok($$SELECT mockbook_internal.insert_booking(b) FROM hx_dup$$, 'PT409', 'DUPLICATE_BOOKING',
                 'insert_booking: a row breaking the duplicate index (a lost race) is DUPLICATE_BOOKING, not 23505');
SELECT is((SELECT (mockbook_internal.insert_booking(b)).id FROM hx_key), NULL,
          'insert_booking: a taken idempotency key returns NULL (the caller replays)');
SELECT throws_ok($$SELECT mockbook_internal.insert_booking(b) FROM hx_code$$, 'PT400', 'INVALID_ARGUMENT',
                 'insert_booking: a caller''s booking code already in use is INVALID_ARGUMENT, not 23505');
SELECT throws_ok($$SELECT mockbook_internal.insert_booking(b) FROM hx_wl$$, 'PT400', 'INVALID_ARGUMENT',
                 'insert_booking: a caller''s code in the WL- range of waitlist places is INVALID_ARGUMENT');
SELECT is(tests.total('HX_1'), 1, 'the refused inserts left the count alone');

-- booking_by_ref: uuid, else code, else HubSpot id -------------------------------------------------
UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = 'HS-HX-1' WHERE idempotency_key = 'hx-1';
SELECT is(ARRAY[(mockbook_internal.booking_by_ref((SELECT id::text FROM hx))).idempotency_key,
                (mockbook_internal.booking_by_ref((SELECT booking_id FROM hx))).idempotency_key,
                (mockbook_internal.booking_by_ref('HS-HX-1')).idempotency_key,
                (mockbook_internal.booking_by_ref((SELECT upper(id::text) FROM hx))).idempotency_key],
          ARRAY['hx-1', 'hx-1', 'hx-1', 'hx-1'], 'booking_by_ref finds a booking by uuid (any case), code and HubSpot id');
SELECT is((mockbook_internal.booking_by_ref('nope')).id, NULL, 'booking_by_ref: NULL row when nothing matches');

-- claim_idempotency_key ------------------------------------------------------------------------
SELECT is((mockbook_internal.claim_idempotency_key('hx-unused', 'f')).id, NULL, 'claim_idempotency_key: an unused key gives NULL');
SELECT throws_ok($$SELECT mockbook_internal.claim_idempotency_key('hx-1', 'another fingerprint')$$, 'PT422',
                 'IDEMPOTENCY_KEY_REUSED', 'claim_idempotency_key: another fingerprint is a reuse');

SELECT * FROM finish();
ROLLBACK;
