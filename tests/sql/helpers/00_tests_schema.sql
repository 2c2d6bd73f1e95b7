-- Test-only schema `tests`: fixture helpers and the PostgREST request helper.
-- Loaded by tests/conftest.py into the test database after it is migrated; never shipped.
CREATE SCHEMA IF NOT EXISTS tests;
GRANT USAGE ON SCHEMA tests TO PUBLIC;
CREATE SEQUENCE IF NOT EXISTS tests.ids;
GRANT USAGE ON SEQUENCE tests.ids TO PUBLIC;

-- Switch the transaction to what PostgREST does for one request: role, JWT claims, method.
CREATE OR REPLACE FUNCTION tests.as_request(p_role text, p_method text DEFAULT 'POST',
                                            p_sub text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('request.jwt.claims',
                       json_build_object('role', p_role, 'sub', p_sub)::text, true);
    PERFORM set_config('request.method', p_method, true);
    PERFORM set_config('role', p_role, true);
END
$$;

-- Back to the session user (the test owner), as at the start of a request.
CREATE OR REPLACE FUNCTION tests.end_request() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('role', 'none', true);
    PERFORM set_config('request.jwt.claims', '', true);
    PERFORM set_config('request.method', '', true);
END
$$;

-- tests.rpc: call one function expression exactly as PostgREST would, as p_role, and return its
-- result as jsonb. POST calls keep their effects; GET calls run read-only (like PostgREST's GET
-- on a STABLE function) and their settings are undone with a sentinel subtransaction abort.
-- Errors of the call propagate unchanged, so throws_ok sees the function's SQLSTATE.
CREATE OR REPLACE FUNCTION tests.rpc(p_role text, p_call text, p_method text DEFAULT 'POST',
                                     p_sub text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_result jsonb;
BEGIN
    IF upper(p_method) = 'GET' THEN
        BEGIN
            PERFORM tests.as_request(p_role, 'GET', p_sub);
            PERFORM set_config('transaction_read_only', 'on', true);
            EXECUTE format('SELECT to_jsonb(%s)', p_call) INTO v_result;
            RAISE EXCEPTION USING ERRCODE = 'TS000', MESSAGE = 'tests.rpc GET done';
        EXCEPTION WHEN SQLSTATE 'TS000' THEN
            RETURN v_result;
        END;
    END IF;
    PERFORM tests.as_request(p_role, upper(p_method), p_sub);
    EXECUTE format('SELECT to_jsonb(%s)', p_call) INTO v_result;
    PERFORM tests.end_request();
    RETURN v_result;
END
$$;

-- tests.rpc_rows: a GET on a set-returning function (or a table), rows as a jsonb array.
CREATE OR REPLACE FUNCTION tests.rpc_rows(p_role text, p_from text, p_sub text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_result jsonb;
BEGIN
    BEGIN
        PERFORM tests.as_request(p_role, 'GET', p_sub);
        PERFORM set_config('transaction_read_only', 'on', true);
        EXECUTE format('SELECT coalesce(jsonb_agg(to_jsonb(r)), ''[]''::jsonb) FROM %s AS r', p_from)
            INTO v_result;
        RAISE EXCEPTION USING ERRCODE = 'TS000', MESSAGE = 'tests.rpc_rows done';
    EXCEPTION WHEN SQLSTATE 'TS000' THEN
        RETURN v_result;
    END;
END
$$;

-- Fixtures -------------------------------------------------------------------------------------

-- An exam; returns its HubSpot id. Defaults: a bookable SJ exam a week ahead with 10 seats.
-- Moves the database's clock (mockbook_internal.clock_now, setting mockbook.clock_offset) for
-- the rest of the transaction so that it reads p_time, today, in the business time zone: a test
-- of exams "today" then means the same whatever the hour the suite runs at.
CREATE OR REPLACE FUNCTION tests.set_local_time(p_time time) RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
    v_zone text := mockbook_internal.business_timezone();
    v_day date := (now() AT TIME ZONE v_zone)::date;
BEGIN
    PERFORM set_config('mockbook.clock_offset',
                       (((v_day + p_time) AT TIME ZONE v_zone) - now())::text, true);
    RETURN mockbook_internal.clock_now();
END
$$;

CREATE OR REPLACE FUNCTION tests.make_exam(
    p_mock_type text DEFAULT 'Situational Judgment',
    p_capacity integer DEFAULT 10,
    p_exam_date date DEFAULT (now() AT TIME ZONE 'America/Toronto')::date + 7,
    p_is_active text DEFAULT 'true',
    p_location text DEFAULT 'mississauga',
    p_prerequisite_exam_ids text[] DEFAULT '{}',
    p_scheduled_activation_datetime timestamptz DEFAULT NULL,
    p_hubspot_id text DEFAULT NULL,
    p_mock_set hubspot_sync.mock_set_letter DEFAULT 'A'
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_id text := coalesce(p_hubspot_id, 'EX' || nextval('tests.ids'));
BEGIN
    INSERT INTO hubspot_sync.hubspot_mock_exams (
        hubspot_id, mock_exam_name, mock_type, exam_date, start_time, end_time, location,
        capacity, total_bookings, is_active, scheduled_activation_datetime, mock_set,
        prerequisite_exam_ids)
    VALUES (v_id, p_mock_type || ' ' || v_id, p_mock_type, p_exam_date, '09:00', '12:00',
            p_location, p_capacity, 0, p_is_active, p_scheduled_activation_datetime, p_mock_set,
            p_prerequisite_exam_ids);
    RETURN v_id;
END
$$;

-- A student with credits; returns the student_id. Email is lower(student_id)@example.com.
CREATE OR REPLACE FUNCTION tests.make_student(
    p_sj integer DEFAULT 0, p_cs integer DEFAULT 0, p_sjmini integer DEFAULT 0,
    p_md integer DEFAULT 0, p_shared integer DEFAULT 0,
    p_student_id text DEFAULT NULL, p_hubspot_id text DEFAULT NULL
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_sid text := coalesce(p_student_id, 'S' || nextval('tests.ids'));
BEGIN
    INSERT INTO hubspot_sync.hubspot_contact_credits (
        hubspot_id, student_id, email, firstname, lastname, sj_credits, cs_credits,
        sjmini_credits, mock_discussion_token, shared_mock_credits)
    VALUES (coalesce(p_hubspot_id, 'C' || v_sid), v_sid, lower(v_sid) || '@example.com',
            'First' || v_sid, 'Last' || v_sid, p_sj, p_cs, p_sjmini, p_md, p_shared);
    RETURN v_sid;
END
$$;

CREATE OR REPLACE FUNCTION tests.email_of(p_student_id text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT lower(p_student_id) || '@example.com' $$;

-- The invariants, one line per violation: mockbook_internal.check_invariants() (the one
-- implementation, shipped in db/) over the whole ledger.
CREATE OR REPLACE FUNCTION tests.invariant_violations() RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT format('%s: %s: %s', i.invariant, i.subject, i.detail)
    FROM mockbook_internal.check_invariants() AS i
    WHERE i.invariant NOT LIKE 'legacy\_%'  -- adopted data, listed, not a violation
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tests TO PUBLIC;

-- Empty the package tables for the rest of the calling test's transaction (undone by its
-- ROLLBACK), for tests whose assertions cover "all rows" while other tests of the run have
-- committed data (the Python concurrency tests do).
CREATE OR REPLACE FUNCTION tests.isolate() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE hubspot_sync.hubspot_bookings, hubspot_sync.hubspot_mock_exams,
             hubspot_sync.credit_ledger, hubspot_sync.hubspot_contact_credits,
             hubspot_sync.sync_queue, hubspot_sync.supabase_audit_log, hubspot_sync.sync_errors,
             hubspot_sync.waitlist_entries
        CASCADE;
END
$$;
GRANT EXECUTE ON FUNCTION tests.isolate() TO PUBLIC;
