-- Fixtures of the pull, import, reconcile and audit-notes pgTAP tests (tests/sql/test_apply_*,
-- test_record_credit_push, test_claim_audit_notes, ...).

-- The catalog properties every glue function has: its volatility, SECURITY INVOKER,
-- EXECUTE for service_role only, and (PL/pgSQL) no plpgsql_check finding. Six pgTAP results
-- (five for a SQL function).
CREATE OR REPLACE FUNCTION tests.glue_function_ok(p_name text, p_args text[], p_volatility text,
                                                  p_plpgsql boolean DEFAULT true,
                                                  p_glue boolean DEFAULT true)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    v_sig text := format('mockbook_internal.%s(%s)', p_name, array_to_string(p_args, ', '));
BEGIN
    -- in mockbook_internal (PostgREST does not expose it); a glue function (p_glue) is the glue's
    -- door: SECURITY DEFINER, executable by mockbook_glue only; an internal helper runs as its
    -- caller and nobody but the owner may call it
    RETURN NEXT volatility_is('mockbook_internal', p_name, p_args, p_volatility,
                              format('%s is %s', p_name, upper(p_volatility)));
    IF p_glue THEN
        RETURN NEXT is_definer('mockbook_internal', p_name, p_args,
                               format('%s is SECURITY DEFINER', p_name));
    ELSE
        RETURN NEXT isnt_definer('mockbook_internal', p_name, p_args,
                                 format('%s is SECURITY INVOKER', p_name));
    END IF;
    RETURN NEXT function_privs_are('mockbook_internal', p_name, p_args, 'anon', '{}'::text[],
                                   format('%s: anon may not execute it', p_name));
    RETURN NEXT function_privs_are('mockbook_internal', p_name, p_args, 'service_role', '{}'::text[],
                                   format('%s: service_role may not execute it', p_name));
    RETURN NEXT function_privs_are('mockbook_internal', p_name, p_args, 'mockbook_glue',
                                   CASE WHEN p_glue THEN '{EXECUTE}' ELSE '{}' END::text[],
                                   format('%s: mockbook_glue %s execute it', p_name,
                                          CASE WHEN p_glue THEN 'may' ELSE 'may not' END));
    IF p_plpgsql THEN
        RETURN NEXT is(tests.plpgsql_check_count(v_sig::regprocedure), 0::bigint,
                       format('plpgsql_check: %s is clean', p_name));
    END IF;
END
$$;

-- anon and authenticated calling p_call the way PostgREST would get permission denied (2 results).
CREATE OR REPLACE FUNCTION tests.request_roles_refused(p_call text)
RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN NEXT throws_ok(format('SELECT tests.rpc(%L, %L)', 'anon', p_call), '42501', NULL,
                          'anon is refused');
    RETURN NEXT throws_ok(format('SELECT tests.rpc(%L, %L)', 'authenticated', p_call), '42501',
                          NULL, 'authenticated is refused');
END
$$;

-- A HubSpot record as the API returns it (and the apply functions take it).
CREATE OR REPLACE FUNCTION tests.hs_record(p_id text, p_properties jsonb,
                                           p_archived boolean DEFAULT false)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('id', p_id, 'properties', p_properties, 'archived', p_archived)
$$;

-- p_record with the "unknown" list the glue adds (glue.hubspot.catalogue, Synced.unknown): the
-- columns of p_declared ({property: column}, the properties declared unknown when empty) whose
-- property is empty in the record (absent, null or blank).
CREATE OR REPLACE FUNCTION tests.with_unknown(p_record jsonb, p_declared jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT p_record || jsonb_build_object('unknown', coalesce(
        (SELECT jsonb_agg(d.value) FROM jsonb_each_text(p_declared) AS d
         WHERE coalesce(btrim(p_record -> 'properties' ->> d.key), '') = ''), '[]'::jsonb))
$$;

-- A bookable Clinical Skills exam's HubSpot properties, with p_overrides on top.
CREATE OR REPLACE FUNCTION tests.hs_exam(p_id text, p_overrides jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT tests.hs_record(p_id, jsonb_build_object(
        'mock_exam_name', 'CS ' || p_id, 'mock_type', 'Clinical Skills',
        'exam_date', '2031-03-01', 'start_time', '09:00', 'end_time', '12:00',
        'location', 'mississauga', 'capacity', '10', 'is_active', 'true', 'mock_set', 'A',
        'prerequisite_exam_ids', '') || p_overrides)
$$;

-- A student's HubSpot contact properties (email lower(student_id)@example.com, no credits),
-- with p_overrides on top.
CREATE OR REPLACE FUNCTION tests.hs_contact(p_id text, p_student_id text,
                                            p_overrides jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT tests.hs_record(p_id, jsonb_build_object(
        'email', lower(p_student_id) || '@example.com', 'student_id', p_student_id,
        'firstname', 'First', 'lastname', 'Last', 'sj_credits', '0', 'cs_credits', '0',
        'sjmini_credits', '0', 'mock_discussion_token', '0', 'shared_mock_credits', '0',
        'lastmodifieddate', '2031-01-01T00:00:00.000Z') || p_overrides)
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tests TO PUBLIC;
