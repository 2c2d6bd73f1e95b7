-- Analytics: the four materialized views, sync_health and refresh_analytics().
-- The numbers are checked on a small fixture dated 2031 (so nothing else in the database falls
-- in its weeks) against values computed by hand: cancellations, no-shows, a Failed booking, an
-- exam with zero bookings, an exam of capacity 0, a week without exams, and bookings and ledger
-- entries near midnight to prove the business time zone is used.
BEGIN;
SELECT plan(61);

-- Catalog: what exists, how it can be refreshed, who may read it ---------------------------------
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class AS c
           WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind = 'm'),
          ARRAY['booking_analytics', 'credit_usage', 'daily_booking_trends', 'exam_utilization'],
          'the four analytics views are materialized views');
SELECT is((SELECT c.relkind::text FROM pg_class AS c WHERE c.oid = 'hubspot_sync.sync_health'::regclass),
          'v', 'sync_health is a plain view (always current)');
SELECT ok((SELECT 'security_invoker=true' = ANY (c.reloptions) FROM pg_class AS c
           WHERE c.oid = 'hubspot_sync.sync_health'::regclass),
          'sync_health runs with the reader''s privileges (security_invoker)');
-- REFRESH ... CONCURRENTLY needs a unique, non-partial index on plain columns (no expression).
SELECT is((SELECT array_agg(v.name || ': ' || coalesce(k.cols, 'MISSING') ORDER BY v.name)
           FROM (VALUES ('booking_analytics'), ('credit_usage'), ('daily_booking_trends'),
                        ('exam_utilization')) AS v(name)
           LEFT JOIN LATERAL (
               SELECT string_agg(a.attname::text, ', ' ORDER BY k.ord) AS cols
               FROM pg_index AS i
               CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
               WHERE i.indrelid = ('hubspot_sync.' || v.name)::regclass
                 AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
               GROUP BY i.indexrelid
               LIMIT 1) AS k ON true),
          ARRAY['booking_analytics: week, mock_type', 'credit_usage: week, credit_field',
                'daily_booking_trends: day, mock_type, location', 'exam_utilization: hubspot_id'],
          'each materialized view has a unique index on plain columns (its key)');
SELECT is((SELECT count(*)::int FROM pg_class AS c
           WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind = 'm'
             AND NOT c.relispopulated), 0, 'a fresh install has populated views');
SELECT is((SELECT array_agg(format('%s %s %s', r, v, p) ORDER BY r, v, p)
           FROM unnest(ARRAY['public', 'anon', 'authenticated']) AS r
           CROSS JOIN unnest(ARRAY['booking_analytics', 'exam_utilization', 'daily_booking_trends',
                                   'credit_usage', 'sync_health']) AS v
           CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',
                                   'REFERENCES', 'TRIGGER']) AS p
           WHERE has_table_privilege(r, 'hubspot_sync.' || v, p)),
          NULL, 'PUBLIC, anon and authenticated have no privilege on any analytics view');
SELECT is((SELECT array_agg(v ORDER BY v)
           FROM unnest(ARRAY['booking_analytics', 'exam_utilization', 'daily_booking_trends',
                             'credit_usage', 'sync_health']) AS v
           WHERE has_table_privilege('service_role', 'hubspot_sync.' || v, 'SELECT')
             AND NOT has_table_privilege('service_role', 'hubspot_sync.' || v, 'INSERT')),
          ARRAY['booking_analytics', 'credit_usage', 'daily_booking_trends', 'exam_utilization',
                'sync_health'],
          'service_role may read (only read) every analytics view');
SELECT ok(obj_description(('hubspot_sync.' || v)::regclass, 'pg_class') IS NOT NULL,
          v || ' has a comment')
FROM unnest(ARRAY['booking_analytics', 'exam_utilization', 'daily_booking_trends',
                  'credit_usage', 'sync_health']) AS v;
-- refresh_analytics
SELECT volatility_is('mockbook_internal', 'refresh_analytics', ARRAY['boolean'], 'volatile',
                     'refresh_analytics is VOLATILE');
SELECT is_definer('mockbook_internal', 'refresh_analytics', ARRAY['boolean'],
                    'refresh_analytics is SECURITY DEFINER');
SELECT function_privs_are('mockbook_internal', 'refresh_analytics', ARRAY['boolean'], r, p,
                          format('%s: EXECUTE %s', r, CASE WHEN p = '{}' THEN 'refused' ELSE 'granted' END))
FROM (VALUES ('anon', '{}'::text[]), ('authenticated', '{}'), ('service_role', '{}'), ('mockbook_glue', '{EXECUTE}'))
     AS v(r, p);
SELECT ok(NOT has_function_privilege('public', 'mockbook_internal.refresh_analytics(boolean)', 'EXECUTE'),
          'PUBLIC cannot execute refresh_analytics');
SELECT is(tests.plpgsql_check_count('mockbook_internal.refresh_analytics(boolean)'), 0::bigint,
          'plpgsql_check: refresh_analytics is clean');
SELECT isnt(obj_description('mockbook_internal.refresh_analytics(boolean)'::regprocedure, 'pg_proc'),
            NULL, 'refresh_analytics has a comment');

-- Privileges through PostgREST --------------------------------------------------------------------
SELECT throws_ok(format($$SELECT tests.rpc_rows(%L, 'hubspot_sync.%s')$$, r, v), '42501', NULL,
                 format('%s cannot read %s', r, v))
FROM unnest(ARRAY['anon', 'authenticated']) AS r
CROSS JOIN unnest(ARRAY['booking_analytics', 'exam_utilization', 'daily_booking_trends',
                        'credit_usage', 'sync_health']) AS v;
SELECT throws_ok($$SELECT tests.rpc('anon', 'mockbook_internal.refresh_analytics()')$$, '42501', NULL,
                 'anon cannot refresh');
SELECT throws_ok($$SELECT tests.rpc('authenticated', 'mockbook_internal.refresh_analytics()')$$, '42501',
                 NULL, 'authenticated cannot refresh');
-- An app's key cannot refresh: refresh_analytics is the glue's (mockbook_internal).
SELECT throws_ok($$SELECT tests.rpc('service_role', 'mockbook_internal.refresh_analytics()')$$, '42501',
                 NULL, 'service_role cannot refresh (no access to mockbook_internal)');

-- One refresh at a time ------------------------------------------------------------------------------
-- A second session (dblink) holds the refresh lock: this session's refresh gives way and records
-- nothing. Must run before any refresh of this transaction: refresh_analytics' transaction-level
-- lock is held until ROLLBACK, so the other session could not take it afterwards.
CREATE TEMP TABLE analytics_env ON COMMIT DROP AS SELECT tests.other_session_open() AS other_ok;
DELETE FROM hubspot_sync.sync_metadata WHERE sync_type = 'refresh_analytics';
SELECT CASE WHEN other_ok THEN
           is(tests.other_session($$SELECT pg_try_advisory_lock(hashtextextended('mockbook:refresh_analytics', 0))::text$$),
              'true', 'another session takes the refresh lock')
       ELSE fail('no second session (dblink) available: the lock test cannot run') END
FROM analytics_env;
SELECT CASE WHEN other_ok THEN
           is(mockbook_internal.refresh_analytics(),
              '{"refreshed": false, "reason": "another refresh is running"}'::jsonb,
              'while another session refreshes, refresh_analytics gives way at once')
       ELSE fail('no second session (dblink) available: the lock test cannot run') END
FROM analytics_env;
SELECT CASE WHEN other_ok THEN
           is((SELECT count(*)::int FROM hubspot_sync.sync_metadata WHERE sync_type = 'refresh_analytics'),
              0, 'a refresh that gave way records nothing')
       ELSE fail('no second session (dblink) available: the lock test cannot run') END
FROM analytics_env;
DO $$ BEGIN
    IF (SELECT other_ok FROM analytics_env) THEN
        PERFORM tests.other_session($q$SELECT pg_advisory_unlock(hashtextextended('mockbook:refresh_analytics', 0))::text$q$);
    END IF;
END $$;
SELECT CASE WHEN other_ok THEN
           -- as the glue's role: on PostgreSQL 15 only the views' owner may REFRESH them, and
           -- refresh_analytics is SECURITY DEFINER for exactly that
           is(tests.rpc('mockbook_glue', 'mockbook_internal.refresh_analytics()') ->> 'refreshed', 'true',
              'once the other session lets go, the refresh runs (called by mockbook_glue)')
       ELSE fail('no second session (dblink) available: the lock test cannot run') END
FROM analytics_env;
SELECT CASE WHEN other_ok THEN
           is(tests.other_session($$SELECT pg_try_advisory_lock(hashtextextended('mockbook:refresh_analytics', 0))::text$$),
              'false', 'the refresh lock is held until the refreshing transaction ends')
       ELSE fail('no second session (dblink) available: the lock test cannot run') END
FROM analytics_env;
DO $$ BEGIN
    IF (SELECT other_ok FROM analytics_env) THEN
        PERFORM tests.other_session_close();
    END IF;
END $$;

-- Fixture (all in 2031) ------------------------------------------------------------------------------
-- Exams: weeks of Monday 2031-03-03 and 2031-03-17; the week of 2031-03-10 has none.
--   ANX1 SJ 03-04 cap 10: 3 Active, 1 Cancelled, 3 Completed (attended Yes, Yes, No)
--   ANX2 SJ 03-06 cap  4: 4 Active, 2 Cancelled                        (full)
--   ANX3 CS 03-05 cap  8: no bookings at all
--   ANX4 SJ 03-18 cap  0: 1 Cancelled                                  (no utilization)
--   ANX5 SJ 03-20 cap  5: 1 Active, 1 Completed (attended Yes), 1 Failed
--   ANX6 CS 03-19 cap  6: 1 Active
-- Bookings made (America/Toronto, EST = UTC-5): ANX1's 3 Active + 1 Cancelled and ANX6's on
-- 02-10 10:00, ANX1's Completed on 02-10 23:30 (02-11 in UTC), ANX2's on 02-11 12:00, ANX4's
-- and ANX5's on 02-12 09:00 with no attending location (NULL or '').
INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_exam_name, mock_type, exam_date,
                                             location, capacity, total_bookings, is_active)
VALUES ('ANX1', 'A1', 'Situational Judgment', '2031-03-04', 'mississauga', 10, 3, 'true'),
       ('ANX2', 'A2', 'Situational Judgment', '2031-03-06', 'vancouver', 4, 4, 'true'),
       ('ANX3', 'A3', 'Clinical Skills', '2031-03-05', 'mississauga', 8, 0, 'true'),
       ('ANX4', 'A4', 'Situational Judgment', '2031-03-18', 'calgary', 0, 0, 'false'),
       ('ANX5', 'A5', 'Situational Judgment', '2031-03-20', 'calgary', 5, 1, 'true'),
       ('ANX6', 'A6', 'Clinical Skills', '2031-03-19', 'mississauga', 6, 1, 'true');
INSERT INTO hubspot_sync.hubspot_bookings (booking_id, associated_mock_exam, student_id, is_active,
                                           attendance, attending_location, exam_date, mock_type,
                                           created_at)
SELECT 'BK-AN-' || f.n, f.exam, 'ANS' || f.n, f.status,
       f.attendance, f.location, e.exam_date, e.mock_type, f.created_at
FROM (SELECT v.*, row_number() OVER () AS n
      FROM (VALUES ('ANX1', 'Active', NULL, 'mississauga', '2031-02-10 10:00-05'::timestamptz),
                   ('ANX1', 'Active', NULL, 'mississauga', '2031-02-10 10:00-05'),
                   ('ANX1', 'Active', NULL, 'mississauga', '2031-02-10 10:00-05'),
                   ('ANX1', 'Cancelled', NULL, 'mississauga', '2031-02-10 10:00-05'),
                   ('ANX1', 'Completed', 'Yes', 'mississauga', '2031-02-10 23:30-05'),
                   ('ANX1', 'Completed', 'Yes', 'mississauga', '2031-02-10 23:30-05'),
                   ('ANX1', 'Completed', 'No', 'mississauga', '2031-02-10 23:30-05'),
                   ('ANX2', 'Active', NULL, 'vancouver', '2031-02-11 12:00-05'),
                   ('ANX2', 'Active', NULL, 'vancouver', '2031-02-11 12:00-05'),
                   ('ANX2', 'Active', NULL, 'vancouver', '2031-02-11 12:00-05'),
                   ('ANX2', 'Active', NULL, 'vancouver', '2031-02-11 12:00-05'),
                   ('ANX2', 'Cancelled', NULL, 'vancouver', '2031-02-11 12:00-05'),
                   ('ANX2', 'Cancelled', NULL, 'vancouver', '2031-02-11 12:00-05'),
                   ('ANX4', 'Cancelled', NULL, NULL, '2031-02-12 09:00-05'),
                   ('ANX5', 'Active', NULL, NULL, '2031-02-12 09:00-05'),
                   ('ANX5', 'Completed', 'Yes', '', '2031-02-12 09:00-05'),
                   ('ANX5', 'Failed', NULL, NULL, '2031-02-12 09:00-05'),
                   ('ANX6', 'Active', NULL, 'mississauga', '2031-02-10 10:00-05'))
           AS v(exam, status, attendance, location, created_at)) AS f
JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = f.exam;
-- Locations as production stored them (the original app sent display names, a campus with its
-- room, 'TBD', 'Online'; bookings pulled from HubSpot carry the same), beside mockbook's codes:
-- nine Mini-mock bookings made on 2031-05-20 (no exam: they appear in no exam view).
INSERT INTO hubspot_sync.hubspot_bookings (booking_id, student_id, is_active, attending_location,
                                           mock_type, created_at)
SELECT 'BK-ANL-' || n, 'ANL' || n, 'Active', loc, 'Mini-mock', '2031-05-20 12:00-04'
FROM unnest(ARRAY['Mississauga', 'mississauga', 'Mississauga - B9', ' Richmond Hill ', 'TBD',
                  'Online', NULL, '', 'Toronto']) WITH ORDINALITY AS v(loc, n);
-- Ledger of one student (America/Toronto, EDT = UTC-4), weeks of Monday 2031-04-07 and 04-14;
-- the last entry is Sunday 04-20 23:30 in Toronto, already Monday 04-21 in UTC.
DO $$ BEGIN PERFORM tests.make_student(p_sj := 20, p_cs := 5, p_student_id := 'ANC1'); END $$;
INSERT INTO hubspot_sync.credit_ledger (contact_id, student_id, credit_field, delta, balance_after,
                                        reason, created_at)
SELECT c.id, c.student_id, f.field, f.delta, 5, f.reason, f.created_at
FROM (VALUES ('sj_credits', -1, 'booking', '2031-04-07 10:00-04'::timestamptz),
             ('sj_credits', -1, 'booking', '2031-04-07 11:00-04'),
             ('sj_credits', -1, 'booking', '2031-04-09 11:00-04'),
             ('sj_credits', 1, 'cancellation', '2031-04-09 12:00-04'),
             ('sj_credits', 5, 'admin_adjustment', '2031-04-10 12:00-04'),
             ('sj_credits', -2, 'hubspot_adjustment', '2031-04-11 12:00-04'),
             ('sj_credits', -1, 'rebook', '2031-04-11 13:00-04'),
             ('sj_credits', 10, 'import', '2031-04-12 08:00-04'),
             ('cs_credits', -2, 'booking', '2031-04-08 10:00-04'),
             ('sj_credits', -1, 'booking', '2031-04-20 23:30-04'))
     AS f(field, delta, reason, created_at)
CROSS JOIN hubspot_sync.hubspot_contact_credits AS c
WHERE c.student_id = 'ANC1';

-- The numbers ---------------------------------------------------------------------------------------
SELECT is(mockbook_internal.refresh_analytics(p_concurrently := false) - 'seconds',
          '{"refreshed": true, "concurrently": [],
            "views": ["booking_analytics", "exam_utilization", "daily_booking_trends", "credit_usage"]}'::jsonb,
          'a plain refresh refreshes the four views, none concurrently');

SELECT results_eq(
    $$SELECT hubspot_id, capacity, bookings, active, cancelled, completed, attended, no_shows,
             utilization
      FROM hubspot_sync.exam_utilization WHERE hubspot_id LIKE 'ANX%' ORDER BY hubspot_id$$,
    $$VALUES ('ANX1'::text, 10, 7, 3, 1, 3, 2, 1, 0.6000),
                   ('ANX2', 4, 6, 4, 2, 0, 0, 0, 1.0000),
                   ('ANX3', 8, 0, 0, 0, 0, 0, 0, 0.0000),
                   ('ANX4', 0, 1, 0, 1, 0, 0, 0, NULL),
                   ('ANX5', 5, 3, 1, 0, 1, 1, 0, 0.4000),
                   ('ANX6', 6, 1, 1, 0, 0, 0, 0, 0.1667)$$,
    'exam_utilization: per exam, zero-booking exam included, capacity 0 has no utilization');
SELECT results_eq(
    $$SELECT mock_type, exam_date, location FROM hubspot_sync.exam_utilization
      WHERE hubspot_id = 'ANX3'$$,
    $$VALUES ('Clinical Skills'::text, '2031-03-05'::date, 'mississauga'::text)$$,
    'exam_utilization carries the exam''s mock type, date and location');

-- SJ week of 03-03: ANX1 (6/10 = 0.6) and ANX2 (4/4 = 1.0) -> 0.8; capacity (10 + 4) / 2 = 7.
-- SJ week of 03-17: ANX4 (capacity 0: no utilization) and ANX5 (2/5 = 0.4) -> 0.4; capacity 2.5.
-- CS week of 03-17: ANX6 1/6 = 0.1667. No row for the week of 03-10.
SELECT results_eq(
    $$SELECT week, mock_type, exams, bookings, active, cancellations, completed, avg_capacity,
             avg_utilization
      FROM hubspot_sync.booking_analytics
      WHERE week BETWEEN '2031-03-01' AND '2031-03-31' ORDER BY week, mock_type$$,
    $$VALUES ('2031-03-03'::date, 'Clinical Skills'::text, 1, 0, 0, 0, 0, 8.00, 0.0000),
             ('2031-03-03', 'Situational Judgment', 2, 13, 7, 3, 3, 7.00, 0.8000),
             ('2031-03-17', 'Clinical Skills', 1, 1, 1, 0, 0, 6.00, 0.1667),
             ('2031-03-17', 'Situational Judgment', 2, 4, 1, 1, 1, 2.50, 0.4000)$$,
    'booking_analytics: per exam week and mock type, averages over exams; no row for a week without exams');

SELECT results_eq(
    $$SELECT day, mock_type, location, bookings, active, cancellations, completed
      FROM hubspot_sync.daily_booking_trends
      WHERE day BETWEEN '2031-02-01' AND '2031-02-28' ORDER BY day, mock_type, location$$,
    $$VALUES ('2031-02-10'::date, 'Clinical Skills'::text, 'mississauga'::text, 1, 1, 0, 0),
             ('2031-02-10', 'Situational Judgment', 'mississauga', 7, 3, 1, 3),
             ('2031-02-11', 'Situational Judgment', 'vancouver', 6, 4, 2, 0),
             ('2031-02-12', 'Situational Judgment', '(none)', 4, 1, 1, 1)$$,
    'daily_booking_trends: days in America/Toronto; no location (NULL or empty) is (none)');

-- One campus is one location whatever its spelling ('Mississauga', 'Mississauga - B9' and
-- 'mississauga' are the campus mississauga); 'TBD', 'Online', NULL and '' name no campus:
-- (none); a value that is no known spelling is kept as it is (mapping: legacy_attending_location).
SELECT results_eq(
    $$SELECT location, bookings FROM hubspot_sync.daily_booking_trends
      WHERE day = '2031-05-20' AND mock_type = 'Mini-mock' ORDER BY location COLLATE "C"$$,
    $$VALUES ('(none)'::text, 4), ('Toronto', 1), ('mississauga', 3), ('richmond_hill', 1)$$,
    'daily_booking_trends: a campus spelled as production stored it counts under its code');

SELECT results_eq(
    $$SELECT week, credit_field, spent, refunded, adjusted, rebooked, imported, net, entries
      FROM hubspot_sync.credit_usage
      WHERE week BETWEEN '2031-04-01' AND '2031-04-30' ORDER BY week, credit_field$$,
    $$VALUES ('2031-04-07'::date, 'cs_credits'::text, 2, 0, 0, 0, 0, -2, 1),
             ('2031-04-07', 'sj_credits', 3, 1, 3, -1, 10, 10, 8),
             ('2031-04-14', 'sj_credits', 1, 0, 0, 0, 0, -1, 1)$$,
    'credit_usage: spent, refunded, adjusted (admin + HubSpot), rebooked, imported per week (Toronto) and field');

-- The business time zone is read when the views are refreshed.
DO $$ BEGIN PERFORM set_config('mockbook.business_timezone_in_transaction', 'UTC', true); END $$;
SELECT is(mockbook_internal.refresh_analytics() -> 'concurrently',
          '["booking_analytics", "exam_utilization", "daily_booking_trends", "credit_usage"]'::jsonb,
          'a populated view is refreshed concurrently by default');
SELECT results_eq(
    $$SELECT day, location, bookings, completed FROM hubspot_sync.daily_booking_trends
      WHERE day BETWEEN '2031-02-01' AND '2031-02-28' AND mock_type = 'Situational Judgment'
      ORDER BY day, location$$,
    $$VALUES ('2031-02-10'::date, 'mississauga'::text, 4, 0),
             ('2031-02-11', 'mississauga', 3, 3),
             ('2031-02-11', 'vancouver', 6, 0),
             ('2031-02-12', '(none)', 4, 1)$$,
    'with mockbook.business_timezone = UTC, bookings made at 23:30 in Toronto fall on the next day');
SELECT results_eq(
    $$SELECT week, credit_field, net FROM hubspot_sync.credit_usage
      WHERE week BETWEEN '2031-04-01' AND '2031-04-30' ORDER BY week, credit_field$$,
    $$VALUES ('2031-04-07'::date, 'cs_credits'::text, -2),
             ('2031-04-07', 'sj_credits', 10),
             ('2031-04-21', 'sj_credits', -1)$$,
    'with UTC, the Sunday 23:30 Toronto entry belongs to the next week');
DO $$ BEGIN PERFORM set_config('mockbook.business_timezone_in_transaction', '', true); END $$;

-- A concurrent refresh follows changes: a cancellation, a new exam, a refund.
UPDATE hubspot_sync.hubspot_bookings SET is_active = 'Cancelled'
WHERE id = (SELECT id FROM hubspot_sync.hubspot_bookings
            WHERE associated_mock_exam = 'ANX2' AND is_active = 'Active' LIMIT 1);
UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = 3 WHERE hubspot_id = 'ANX2';
INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_type, exam_date, capacity, is_active)
VALUES ('ANX7', 'Mini-mock', '2031-03-12', 20, 'true');
INSERT INTO hubspot_sync.credit_ledger (contact_id, student_id, credit_field, delta, balance_after,
                                        reason, created_at)
SELECT c.id, c.student_id, 'cs_credits', 1, 5, 'cancellation', '2031-04-08 12:00-04'
FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = 'ANC1';
SELECT is(mockbook_internal.refresh_analytics(true) ->> 'refreshed', 'true',
          'REFRESH CONCURRENTLY runs inside the function and the test transaction');
SELECT results_eq(
    $$SELECT hubspot_id, active, cancelled, utilization FROM hubspot_sync.exam_utilization
      WHERE hubspot_id IN ('ANX2', 'ANX7') ORDER BY hubspot_id$$,
    $$VALUES ('ANX2'::text, 3, 3, 0.7500), ('ANX7', 0, 0, 0.0000)$$,
    'after a concurrent refresh exam_utilization shows the cancellation and the new exam');
SELECT results_eq(
    $$SELECT week, mock_type, exams, avg_utilization FROM hubspot_sync.booking_analytics
      WHERE week BETWEEN '2031-03-01' AND '2031-03-31' ORDER BY week, mock_type$$,
    $$VALUES ('2031-03-03'::date, 'Clinical Skills'::text, 1, 0.0000),
             ('2031-03-03', 'Situational Judgment', 2, 0.6750),
             ('2031-03-10', 'Mini-mock', 1, 0.0000),
             ('2031-03-17', 'Clinical Skills', 1, 0.1667),
             ('2031-03-17', 'Situational Judgment', 2, 0.4000)$$,
    'after a concurrent refresh booking_analytics has the new week and the new SJ average');
SELECT results_eq(
    $$SELECT spent, refunded, net, entries FROM hubspot_sync.credit_usage
      WHERE week = '2031-04-07' AND credit_field = 'cs_credits'$$,
    $$VALUES (2, 1, -1, 2)$$,
    'after a concurrent refresh credit_usage counts the refund');
SELECT is((SELECT jsonb_array_length(tests.rpc_rows('service_role',
               '(SELECT * FROM hubspot_sync.exam_utilization WHERE hubspot_id LIKE ''ANX%'')'))),
          7, 'service_role reads exam_utilization through PostgREST');

-- sync_health ---------------------------------------------------------------------------------------
-- Start from empty queue, error and metadata tables (this transaction only), then: two pending
-- outbox rows (10 and 2 minutes old), one done and one dead; errors 30 minutes and 2 hours old
-- (unresolved) and one 10 minutes old (resolved); metadata of several sync types.
DELETE FROM hubspot_sync.sync_queue;
DELETE FROM hubspot_sync.sync_errors;
DELETE FROM hubspot_sync.sync_metadata;
SELECT results_eq(
    $$SELECT pending, oldest_pending_at, errors_last_hour, dead_letters, last_push_at,
             last_pull_at, last_refresh_at
      FROM hubspot_sync.sync_health$$,
    $$VALUES (0::bigint, NULL::timestamptz, 0::bigint, 0::bigint, NULL::timestamptz,
              NULL::timestamptz, NULL::timestamptz)$$,
    'sync_health: one row of zeros and NULLs when nothing is queued, failed or synced');
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, created_at, done_at, dead_at)
VALUES ('hubspot_bookings', gen_random_uuid(), 'INSERT', now() - interval '10 minutes', NULL, NULL),
       ('hubspot_mock_exams', gen_random_uuid(), 'UPDATE', now() - interval '2 minutes', NULL, NULL),
       ('hubspot_bookings', gen_random_uuid(), 'UPDATE', now() - interval '1 hour', now(), NULL),
       ('hubspot_contact_credits', gen_random_uuid(), 'UPDATE', now() - interval '2 hours', NULL, now());
INSERT INTO hubspot_sync.sync_errors (entity_type, direction, error, created_at, resolved,
                                      resolved_at, resolution)
VALUES ('booking', 'push', 'HTTP 400', now() - interval '30 minutes', false, NULL, NULL),
       ('contact', 'push', 'HTTP 500', now() - interval '2 hours', false, NULL, NULL),
       ('exam', 'pull', 'timeout', now() - interval '10 minutes', true, now(), 'discarded');
INSERT INTO hubspot_sync.sync_metadata (sync_type, last_sync_timestamp, last_sync_status)
VALUES ('push', '2031-01-01 10:00Z', 'success'),
       ('push:notes', '2031-01-01 11:00Z', 'error'),
       ('pull:exams', '2031-01-01 09:00Z', 'success'),
       ('pull:contacts', '2031-01-01 09:30Z', 'success'),
       ('pullover', '2031-01-01 12:00Z', 'success'),
       ('pushed_total', '2031-01-01 12:00Z', 'success');
SELECT results_eq(
    $$SELECT pending, oldest_pending_at, oldest_pending_seconds, errors_last_hour, dead_letters,
             last_push_at, last_pull_at, last_refresh_at
      FROM hubspot_sync.sync_health$$,
    $$VALUES (2::bigint, now() - interval '10 minutes', 600.000, 2::bigint, 2::bigint,
              '2031-01-01 10:00Z'::timestamptz, '2031-01-01 09:30Z'::timestamptz,
              NULL::timestamptz)$$,
    'sync_health: pending rows and the oldest''s age, errors in the last hour, open dead letters, last successful push and pull');
SELECT is(mockbook_internal.refresh_analytics() ->> 'refreshed', 'true', 'refresh once more');
SELECT is((SELECT last_refresh_at FROM hubspot_sync.sync_health), now(),
          'sync_health reports the last analytics refresh');
SELECT results_eq(
    $$SELECT last_sync_status, records_synced, error_message FROM hubspot_sync.sync_metadata
      WHERE sync_type = 'refresh_analytics'$$,
    $$VALUES ('success'::text, 4, NULL::text)$$,
    'refresh_analytics records its run in sync_metadata');
SELECT is(tests.rpc_rows('service_role', 'hubspot_sync.sync_health') -> 0 -> 'pending',
          '2'::jsonb, 'service_role reads sync_health through PostgREST (security invoker)');
SELECT is(jsonb_array_length(tests.rpc_rows('service_role', 'hubspot_sync.sync_health')), 1,
          'sync_health always has exactly one row');

SELECT * FROM finish();
ROLLBACK;
