-- Fixtures for the tests of the booking write functions (create_booking, admin_create_booking,
-- rebook, cancel_booking, cancel_bookings, the *_atomic compatibility functions).

-- create_booking through the PostgREST helper as service_role, email = tests.email_of(student).
CREATE OR REPLACE FUNCTION tests.book(p_student_id text, p_exam text, p_key text,
                                      p_location text DEFAULT 'mississauga',
                                      p_hand text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
    SELECT tests.rpc('service_role', format(
        'hubspot_sync.create_booking(p_student_id := %L, p_email := %L, p_mock_exam_id := %L, '
        'p_idempotency_key := %L, p_attending_location := %L, p_dominant_hand := %L)',
        p_student_id, tests.email_of(p_student_id), p_exam, p_key, p_location, p_hand))
$$;

-- The error a call raises, as 'SQLSTATE MESSAGE: DETAIL', or NULL when it succeeds (its effects
-- are always undone). For asserting the DETAIL of documented errors with matches().
CREATE OR REPLACE FUNCTION tests.rpc_error(p_role text, p_call text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_state text;
    v_message text;
    v_detail text;
BEGIN
    BEGIN
        PERFORM tests.rpc(p_role, p_call);
        RAISE EXCEPTION USING ERRCODE = 'TS001', MESSAGE = 'no error';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                                v_detail = PG_EXCEPTION_DETAIL;
    END;
    IF v_state = 'TS001' THEN
        RETURN NULL;
    END IF;
    RETURN format('%s %s: %s', v_state, v_message, v_detail);
END
$$;

-- A student's balance of one credit field.
CREATE OR REPLACE FUNCTION tests.balance(p_student_id text, p_field text) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT mockbook_internal.credit_balance(c, p_field) FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.student_id = p_student_id
$$;

-- An exam's total_bookings.
CREATE OR REPLACE FUNCTION tests.total(p_exam text) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = p_exam
$$;

-- A student's ledger rows as 'field delta balance_after reason' lines, oldest first.
CREATE OR REPLACE FUNCTION tests.ledger_of(p_student_id text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(format('%s %s %s %s', credit_field, delta, balance_after, reason)
                              ORDER BY id), '{}')
    FROM hubspot_sync.credit_ledger WHERE student_id = p_student_id
$$;

-- A digest of every row of the booking tables and the ledger: equal before and after a call
-- means the call changed nothing.
CREATE OR REPLACE FUNCTION tests.state_digest() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(to_jsonb(b)::text, ',' ORDER BY b.id) FROM hubspot_sync.hubspot_bookings b),
        (SELECT string_agg(to_jsonb(e)::text, ',' ORDER BY e.id) FROM hubspot_sync.hubspot_mock_exams e),
        (SELECT string_agg(to_jsonb(c)::text, ',' ORDER BY c.id) FROM hubspot_sync.hubspot_contact_credits c),
        (SELECT string_agg(to_jsonb(l)::text, ',' ORDER BY l.id) FROM hubspot_sync.credit_ledger l)))
$$;

-- Remember the state digest under a name, and compare with it later.
CREATE OR REPLACE FUNCTION tests.snapshot(p_name text DEFAULT 'default') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS tests_snapshots (name text PRIMARY KEY, digest text);
    INSERT INTO tests_snapshots VALUES (p_name, tests.state_digest())
    ON CONFLICT (name) DO UPDATE SET digest = excluded.digest;
END
$$;

CREATE OR REPLACE FUNCTION tests.unchanged_since(p_name text DEFAULT 'default') RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_digest text;
BEGIN
    EXECUTE 'SELECT digest FROM tests_snapshots WHERE name = $1' INTO v_digest USING p_name;
    RETURN v_digest = tests.state_digest();
END
$$;

-- For every contact: balance - sum(ledger deltas) per credit field, as 'student field value'
-- lines (compare with the starting balances to prove balance = start + ledger).
CREATE OR REPLACE FUNCTION tests.balance_minus_ledger(p_student_id text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(format('%s %s', f.credit_field,
                            mockbook_internal.credit_balance(c, f.credit_field) - coalesce(
                        (SELECT sum(l.delta) FROM hubspot_sync.credit_ledger l
                         WHERE l.contact_id = c.id AND l.credit_field = f.credit_field), 0))
                     ORDER BY f.credit_field)
    FROM hubspot_sync.hubspot_contact_credits c, mockbook_internal.credit_fields() AS f
    WHERE c.student_id = p_student_id
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tests TO PUBLIC;
