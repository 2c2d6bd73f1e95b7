-- Fixtures for the tests of the admin and read functions (mark_attendance, set_exam_capacity,
-- adjust_credits, the reads, the compatibility functions and the audit triggers).

-- A booking written directly (no credit spent, as a row imported from HubSpot would be), with
-- the exam's total_bookings kept equal to its Active bookings. Returns the booking's uuid.
-- Its booking code is 'BK-T-<n>'; its HubSpot id p_hubspot_id (NULL by default).
CREATE OR REPLACE FUNCTION tests.seed_booking(
    p_student_id text,
    p_exam text,
    p_status text DEFAULT 'Active',
    p_attendance text DEFAULT NULL,
    p_hubspot_id text DEFAULT NULL,
    p_token_used text DEFAULT 'Situational Judgment Token',
    p_idempotency_key text DEFAULT NULL
) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    INSERT INTO hubspot_sync.hubspot_bookings (
        hubspot_id, booking_id, associated_mock_exam, associated_contact_id, student_id, name,
        student_email, is_active, attendance, token_used, start_time, end_time, exam_date,
        mock_type, mock_set, idempotency_key, attending_location)
    SELECT p_hubspot_id, 'BK-T-' || nextval('tests.ids'), e.hubspot_id, c.hubspot_id,
           p_student_id, c.firstname || ' ' || c.lastname, c.email, p_status, p_attendance,
           p_token_used, e.start_time, e.end_time, e.exam_date, e.mock_type, e.mock_set,
           p_idempotency_key, e.location
    FROM hubspot_sync.hubspot_mock_exams AS e
    LEFT JOIN hubspot_sync.hubspot_contact_credits AS c ON c.student_id = p_student_id
    WHERE e.hubspot_id = p_exam
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'tests.seed_booking: no exam %', p_exam;
    END IF;
    IF p_status = 'Active' THEN
        UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = total_bookings + 1
        WHERE hubspot_id = p_exam;
    END IF;
    RETURN v_id;
END
$$;

-- The booking code of a booking.
CREATE OR REPLACE FUNCTION tests.code_of(p_id uuid) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE id = p_id $$;

-- The number of plpgsql_check findings (errors and every kind of warning) of a function;
-- p_relid names the table a trigger function is checked against.
--
-- DISCARD PLANS afterwards, because the check is not side-effect free for the session: it works on
-- plpgsql's own cached copy of the function (plpgsql_compile hands it the session's copy) and takes
-- plans from that copy's expressions through the plan cache (GetCachedPlan in plpgsql_check's
-- check_expr.c). When an earlier transaction of the session ran the function and a catalog change
-- (a temp table is enough) has since invalidated the session's plans, the check rebuilds those
-- generic plans, and plpgsql's simple-expression cache, which holds no plan refcount between
-- transactions and trusts a pointer comparison with the plan source's current plan, can take the
-- rebuilt plan for the one it saved and evaluate a freed expression tree: the next call of the
-- function raised "XX000: unrecognized node type: 32" (test_create_booking.sql then
-- test_booking_helpers.sql on one pytest-pgtap connection; tests/py/db/test_plpgsql_check_session.py
-- replays it). Seen with plpgsql_check 2.3.0 on PostgreSQL 15.20; plpgsql_check#174 is the same
-- family. Invalidating every cached plan makes plpgsql replan and re-save its simple expressions.
CREATE OR REPLACE FUNCTION tests.plpgsql_check_count(p_function regprocedure,
                                                     p_relid regclass DEFAULT 0)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
BEGIN
    SELECT count(*) INTO v_count FROM plpgsql_check_function_tb(p_function, p_relid,
        other_warnings := true, extra_warnings := true, performance_warnings := true,
        security_warnings := true);
    DISCARD PLANS;
    RETURN v_count;
END
$$;

-- mark_attendance called through tests.rpc (as PostgREST would, default service_role).
CREATE OR REPLACE FUNCTION tests.mark(p_updates jsonb, p_actor text DEFAULT NULL,
                                      p_role text DEFAULT 'service_role')
RETURNS jsonb LANGUAGE sql AS $$
    SELECT tests.rpc(p_role, format('hubspot_sync.mark_attendance(p_updates := %L, p_actor := %L)',
                                    p_updates, p_actor))
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tests TO PUBLIC;
