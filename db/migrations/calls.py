"""The old apps' calls caught inside production's functions by the adoption's commit: the SQL
that wraps those functions before the adoption and unwraps them after (db/migrations/env.py
runs it). It lives beside the revisions, as dependents.py does: env.py loads it without
importing mockbook."""

# Calls already inside production's functions when the adoption commits. Such a call waits on
# the adoption's locks inside the old body; after the commit that body would go on against the
# new schema and fail with a raw error (42704 type "mock_set_enum" does not exist, 42501) or
# write past the ledger. So before the adoption's transaction, one short transaction of its own
# puts a copy of each of production's booking API functions in the schema ADOPTION_CALLS and
# turns the function itself (same oid, owner, privileges and comment) into a wrapper that calls
# the copy: a call that ends after the adoption committed (production's enum renamed) answers
# UNAVAILABLE (PT503: nothing of the call kept, retry it: it then reaches mockbook's function);
# before, every answer and error is the copy's own. The adoption replaces or drops the wrappers
# and drops the schema of copies; if it fails, the original bodies are put back.
ADOPTION_CALLS = "mockbook_adoption_calls"
WRAPPED = (
    "hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text,"
    " text, integer, text)",
    "hubspot_sync.create_booking_atomic_v1(text, text, text, text, text, text, text, text, text,"
    " text, integer)",
    "hubspot_sync.cancel_booking_atomic(uuid, text, integer)",
    "hubspot_sync.get_booking(uuid, text, text)",
    "hubspot_sync.get_contact_credits(text, text, uuid, text)",
    "hubspot_sync.check_idempotency_key(text)",
    "hubspot_sync.increment_exam_bookings(text, integer)",
)
WRAP_SQL = r"""
DO $wrap$
DECLARE
    f record;
    g record;
    v_copy text;
    v_call text;
    v_run text;
    v_void boolean;
    v_unavailable text := 'RAISE EXCEPTION USING ERRCODE = ''PT503'', MESSAGE = ''UNAVAILABLE'','
        || ' DETAIL = ''The database was upgraded to mockbook while this call of production''''s'
        || ' function ran. Nothing of the call was kept.'', HINT = ''Nothing was changed; retry'
        || ' the same call (same idempotency key) once the database takes writes again.''';
    -- once the adoption committed, production's enum is renamed
    v_adopted text := 'pg_catalog.to_regtype(''hubspot_sync.mock_set_enum'') IS NULL';
BEGIN
    IF pg_catalog.to_regtype('hubspot_sync.mock_set_enum') IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE SCHEMA %%I', %(schema)s);
    EXECUTE format('REVOKE ALL ON SCHEMA %%I FROM PUBLIC', %(schema)s);
    EXECUTE format('GRANT USAGE ON SCHEMA %%I TO PUBLIC', %(schema)s);
    FOR f IN
        SELECT p.oid, p.proname, p.pronargs, p.proretset,
               p.prorettype = 'void'::regtype AS void,
               pg_catalog.pg_get_function_arguments(p.oid) AS args,
               pg_catalog.pg_get_function_identity_arguments(p.oid) AS ident,
               pg_catalog.pg_get_function_result(p.oid) AS result,
               pg_catalog.pg_get_functiondef(p.oid) AS definition,
               pg_catalog.pg_get_userbyid(p.proowner) AS owner,
               coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner)) AS acl
        FROM unnest(%(wrapped)s::text[]) AS w(fn)
        JOIN pg_catalog.pg_proc p ON p.oid = pg_catalog.to_regprocedure(w.fn)
        WHERE p.prokind = 'f' AND NOT coalesce(p.proargmodes && '{o,b,v}'::"char"[], false)
    LOOP
        -- the copy: production's definition in the schema of copies, owned as the function,
        -- executable by whoever may execute the function
        EXECUTE regexp_replace(f.definition, '^CREATE OR REPLACE FUNCTION hubspot_sync\.',
                               format('CREATE FUNCTION %%I.', %(schema)s));
        v_copy := format('%%I.%%I(%%s)', %(schema)s, f.proname, f.ident);
        EXECUTE format('ALTER FUNCTION %%s OWNER TO %%I', v_copy, f.owner);
        EXECUTE format('REVOKE ALL ON FUNCTION %%s FROM PUBLIC', v_copy);
        FOR g IN SELECT DISTINCT a.grantee FROM aclexplode(f.acl) AS a LOOP
            EXECUTE format('GRANT EXECUTE ON FUNCTION %%s TO %%s', v_copy,
                           CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
        END LOOP;
        v_call := format('%%I.%%I(%%s)', %(schema)s, f.proname,
                         coalesce((SELECT string_agg('$' || i, ', ')
                                   FROM generate_series(1, f.pronargs) AS i), ''));
        v_void := f.proretset OR f.void;
        v_run := CASE WHEN f.proretset THEN 'RETURN QUERY SELECT * FROM ' || v_call
                      WHEN f.void THEN 'PERFORM ' || v_call
                      ELSE 'v_result := ' || v_call END;
        -- the wrapper: CREATE OR REPLACE keeps the function's oid, owner, privileges, comment
        EXECUTE format(
            'CREATE OR REPLACE FUNCTION hubspot_sync.%%I(%%s) RETURNS %%s LANGUAGE plpgsql AS %%L',
            f.proname, f.args, f.result,
            E'\n-- ' || %(schema)s || E': production''s function while mockbook adopts\n'
            || CASE WHEN v_void THEN '' ELSE 'DECLARE v_result ' || f.result || E';\n' END
            || E'BEGIN\n    ' || v_run || E';\n    IF ' || v_adopted || E' THEN\n        '
            || v_unavailable || E';\n    END IF;\n    RETURN'
            || CASE WHEN v_void THEN '' ELSE ' v_result' END
            || E';\nEXCEPTION WHEN OTHERS THEN\n    IF NOT (' || v_adopted
            || E') THEN\n        RAISE;\n    END IF;\n    ' || v_unavailable || E';\nEND\n');
    END LOOP;
END
$wrap$
"""
# the original bodies back in place of the wrappers the adoption left (all of them, after a
# failed adoption), with the settings the adoption gave them since; then no schema of copies
UNWRAP_SQL = r"""
DO $unwrap$
DECLARE
    f record;
    c text;
BEGIN
    IF pg_catalog.to_regnamespace(%(schema)s) IS NULL THEN
        RETURN;
    END IF;
    FOR f IN
        SELECT w.oid::regprocedure::text AS wrapper, w.proconfig,
               pg_catalog.pg_get_functiondef(c.oid) AS definition
        FROM pg_catalog.pg_proc c
        JOIN pg_catalog.pg_proc w
          ON w.pronamespace = 'hubspot_sync'::regnamespace AND w.proname = c.proname
         AND w.proargtypes = c.proargtypes
        WHERE c.pronamespace = pg_catalog.to_regnamespace(%(schema)s)
          AND w.prosrc LIKE '%%' || %(schema)s || ': production''s function%%'
    LOOP
        EXECUTE regexp_replace(f.definition,
                               format('^CREATE OR REPLACE FUNCTION %%I\.', %(schema)s),
                               'CREATE OR REPLACE FUNCTION hubspot_sync.');
        FOREACH c IN ARRAY coalesce(f.proconfig, '{}') LOOP
            EXECUTE format('ALTER FUNCTION %%s SET %%I = %%s', f.wrapper,
                           split_part(c, '=', 1), substr(c, strpos(c, '=') + 1));
        END LOOP;
    END LOOP;
    EXECUTE format('DROP SCHEMA %%I CASCADE', %(schema)s);
END
$unwrap$
"""


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql(template: str) -> str:
    """WRAP_SQL or UNWRAP_SQL, ready to run as it is."""
    return template % {"schema": _literal(ADOPTION_CALLS),
                       "wrapped": _literal("{" + ",".join(f'"{fn}"' for fn in WRAPPED) + "}")}
