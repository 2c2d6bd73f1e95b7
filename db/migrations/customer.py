"""Objects outside mockbook on the tables the adoption takes over whose behaviour it changes,
read by env.py (the upgrade refuses until each is fixed or the DBA accepts them) and by
`mockbook migrate --check` (glue/db/adoption.py). It lives beside the revisions, as
dependents.py does: env.py loads it without importing mockbook.

Outside mockbook means neither mockbook's nor the production schema's own (0001_baseline: its
audit triggers and policies, whose changes docs/dba.md lists). On the four adopted tables:

- a trigger, a rule, a column default, a CHECK constraint or a generated column whose function
  has no `search_path` of its own: after the adoption it runs inside mockbook's functions, which
  pin `search_path = ''`, so a name its body finds today through the session's search path
  (`public`, `hubspot_sync`, `extensions`, ...) is not found (42P01, 42883, 42704) and the
  booking, cancellation or sync write that fired it fails. The body is read as PostgreSQL would
  resolve it: its identifiers (comments, strings and dynamic SQL aside) looked up among the
  relations, types and functions of those schemas that `pg_catalog` does not also hold, and the
  functions it calls by a qualified name read the same way;
- a rule ON INSERT or UPDATE of sync_metadata, which mockbook upserts (INSERT ... ON CONFLICT,
  which PostgreSQL refuses on a table with such rules);
- a policy: the adoption drops every policy on these tables (docs/dba.md, Security);
- a view or materialized view reading one of them as a role that loses its privilege there (the
  adoption revokes every table privilege but the owner's and service_role's), or as its caller
  (`security_invoker`).

- an INSTEAD OF trigger on a view reading one of them, whose function writes as the view's
  caller: after the adoption only mockbook's functions write mockbook's tables (42501).

And in the database, whatever the table:

- an event trigger whose function has no `search_path` of its own and finds a name only
  through the session's search path: mockbook runs DDL inside functions that pin
  `search_path = ''` (the upgrade's, `set_business_timezone`, `refresh_analytics`), and the
  event trigger fires there, where its names are not found: that DDL fails. It stops every
  migration, not only the adoption, so env.py also checks it before any upgrade or downgrade
  (`MIGRATION_FINDINGS`).

Each finding: (object, what breaks, the fix). The fix keeps the object working; otherwise the
DBA accepts the change with `mockbook.accept_changed_objects = on` (docs/dba.md).

Column-level privileges on mockbook's relations are the adoption's to revoke and the rollback's
to give back (`COLUMN_GRANTS_SQL`): every one on the four adopted tables but their owner's, and
those of PUBLIC, anon and authenticated on the other relations of mockbook's schemas (as the
adoption revokes those roles' table privileges there), unless mockbook.keep_legacy_grants = on.
Each is one adoption_report row ('revoked column privilege', the GRANT that gives it back).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

Query = Callable[[str, tuple], list]  # (sql with %s placeholders, parameters) -> rows

ACCEPT = "mockbook.accept_changed_objects"
ADOPTED = ("hubspot_contact_credits", "hubspot_mock_exams", "hubspot_bookings", "sync_metadata")
# the production schema's own (tests/fixtures/production/hubspot_sync_schema.sql)
PRODUCTION_TRIGGERS = ("bookings_audit_trigger", "contact_credits_audit_trigger",
                       "exams_audit_trigger")
PRODUCTION_POLICIES = (
    "Allow zapier_sync_user to insert bookings", "Allow zapier_sync_user to read bookings",
    "Allow zapier_sync_user to update bookings", "Deny direct access to bookings",
    "Service role has full access", "Allow zapier_sync_user to insert exams",
    "Allow zapier_sync_user to read exams", "Allow zapier_sync_user to update exams",
    "Deny direct access to mock_exams", "Service role can manage sync metadata",
    "service_role_all_access",
)
# the tables mockbook writes with INSERT ... ON CONFLICT (its sync cursors and run records)
UPSERTED = ("sync_metadata",)
# the production schema's functions, which the adoption replaces, drops or pins itself
PRODUCTION_FUNCTIONS = (
    "cancel_booking_atomic", "check_idempotency_key", "create_booking_atomic",
    "create_booking_atomic_v1", "get_booking", "get_booking_aggregates",
    "get_booking_aggregates_count", "get_changed_fields", "get_contact_credits",
    "increment_exam_bookings", "log_booking_changes", "log_contact_credits_changes",
    "log_exam_changes", "update_exam_prerequisites",
)
# a function neither PostgreSQL's nor the production schema's: one to read
_READ = """(n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND NOT (n.nspname = 'hubspot_sync' AND f.proname = ANY (%s)))"""

ACCEPTED_SQL = f"SELECT coalesce(current_setting('{ACCEPT}', true), '') IN ('on', 'true', '1')"
# its adoption_report row (and `migrate --check`'s change) when accepted: object, what breaks
# (old_value), the fix (new_value)
ACCEPTED_ACTION = f"object outside mockbook adopted as it is ({ACCEPT} = on)"

# every object on the adopted tables that may call a function: (object, table, function oids)
_CALLERS_SQL = """
WITH t AS (
    SELECT c.oid, c.relname FROM pg_catalog.pg_class AS c
    WHERE c.relnamespace = to_regnamespace('hubspot_sync') AND c.relname = ANY (%s)
), calls AS (
    SELECT format('trigger %%I on hubspot_sync.%%I', g.tgname, t.relname) AS object,
           ARRAY[g.tgfoid] AS fns
    FROM pg_catalog.pg_trigger AS g JOIN t ON t.oid = g.tgrelid
    WHERE NOT g.tgisinternal AND g.tgname <> ALL (%s)
    UNION ALL
    SELECT CASE WHEN a.attgenerated = 's'
                THEN format('generated column hubspot_sync.%%I.%%I', t.relname, a.attname)
                ELSE format('default of hubspot_sync.%%I.%%I', t.relname, a.attname) END,
           ARRAY(SELECT d.refobjid FROM pg_catalog.pg_depend AS d
                 WHERE d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = f.oid
                   AND d.refclassid = 'pg_catalog.pg_proc'::regclass)
    FROM pg_catalog.pg_attrdef AS f JOIN t ON t.oid = f.adrelid
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = f.adrelid AND a.attnum = f.adnum
    UNION ALL
    SELECT format('CHECK constraint %%I on hubspot_sync.%%I', k.conname, t.relname),
           ARRAY(SELECT d.refobjid FROM pg_catalog.pg_depend AS d
                 WHERE d.classid = 'pg_catalog.pg_constraint'::regclass AND d.objid = k.oid
                   AND d.refclassid = 'pg_catalog.pg_proc'::regclass)
    FROM pg_catalog.pg_constraint AS k JOIN t ON t.oid = k.conrelid WHERE k.contype = 'c'
    UNION ALL
    SELECT format('rule %%I on hubspot_sync.%%I', r.rulename, t.relname),
           ARRAY(SELECT d.refobjid FROM pg_catalog.pg_depend AS d
                 WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
                   AND d.refclassid = 'pg_catalog.pg_proc'::regclass)
    FROM pg_catalog.pg_rewrite AS r JOIN t ON t.oid = r.ev_class WHERE r.rulename <> '_RETURN'
)
SELECT c.object, f.oid
FROM calls AS c CROSS JOIN LATERAL unnest(c.fns) AS u(fn)
JOIN pg_catalog.pg_proc AS f ON f.oid = u.fn
JOIN pg_catalog.pg_namespace AS n ON n.oid = f.pronamespace
WHERE """ + _READ + """
ORDER BY 1, 2
"""

_RULES_SQL = """
SELECT format('rule %%I on hubspot_sync.%%I', r.rulename, c.relname),
       CASE r.ev_type WHEN '2' THEN 'UPDATE' ELSE 'INSERT' END
FROM pg_catalog.pg_rewrite AS r JOIN pg_catalog.pg_class AS c ON c.oid = r.ev_class
WHERE c.relnamespace = to_regnamespace('hubspot_sync') AND c.relname = ANY (%s)
  AND r.ev_type IN ('2', '3')
ORDER BY 1
"""

_POLICIES_SQL = """
SELECT format('policy %%I on hubspot_sync.%%I', p.polname, c.relname),
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
       coalesce((SELECT string_agg(CASE WHEN x = 0 THEN 'public'
                                        ELSE quote_ident(pg_catalog.pg_get_userbyid(x)) END,
                                   ', ' ORDER BY 1)
                 FROM unnest(p.polroles) AS x), 'public')
FROM pg_catalog.pg_policy AS p JOIN pg_catalog.pg_class AS c ON c.oid = p.polrelid
WHERE c.relnamespace = to_regnamespace('hubspot_sync') AND c.relname = ANY (%s)
  AND p.polname <> ALL (%s)
ORDER BY 1
"""

# views reading an adopted table as a role that loses its privilege there: neither a superuser,
# nor (a member of) the table's owner or service_role; or as their caller
_VIEWS_SQL = """
SELECT DISTINCT
       CASE v.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END
           || format('%%I.%%I', vn.nspname, v.relname),
       format('hubspot_sync.%%I', t.relname), pg_catalog.pg_get_userbyid(v.relowner),
       pg_catalog.pg_get_userbyid(t.relowner),
       coalesce(v.reloptions && ARRAY['security_invoker=true', 'security_invoker=on',
                                      'security_invoker=1'], false),
       v.relkind = 'm'
FROM pg_catalog.pg_depend AS d
JOIN pg_catalog.pg_rewrite AS r ON r.oid = d.objid
JOIN pg_catalog.pg_class AS v ON v.oid = r.ev_class
JOIN pg_catalog.pg_namespace AS vn ON vn.oid = v.relnamespace
JOIN pg_catalog.pg_class AS t ON t.oid = d.refobjid
JOIN pg_catalog.pg_roles AS o ON o.oid = v.relowner
WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass
  AND d.refclassid = 'pg_catalog.pg_class'::regclass
  AND t.relnamespace = to_regnamespace('hubspot_sync') AND t.relname = ANY (%s)
  AND v.oid <> t.oid
  AND (coalesce(v.reloptions && ARRAY['security_invoker=true', 'security_invoker=on',
                                      'security_invoker=1'], false)
       OR NOT (o.rolsuper OR pg_catalog.pg_has_role(v.relowner, t.relowner, 'USAGE')
               OR coalesce(pg_catalog.pg_has_role(v.relowner, to_regrole('service_role'),
                                                  'USAGE'), false)))
ORDER BY 1, 2
"""

_FUNCTION_SQL = """
SELECT format('%%I.%%I(%%s)', n.nspname, p.proname, pg_catalog.oidvectortypes(p.proargtypes)),
       l.lanname, p.prosrc, p.prosqlbody IS NOT NULL,
       EXISTS (SELECT FROM unnest(p.proconfig) AS c(setting)
               WHERE c.setting LIKE 'search\\_path=%%')
FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
WHERE p.oid = %s
"""

# The schemas a function without its own search_path finds names in today: the session's
# (which PostgREST also sets to the exposed schemas and its extra search path), public and
# hubspot_sync, pg_catalog aside (it is searched under '' too).
_SEARCHED_SQL = """
SELECT array_agg(s.nspname ORDER BY s.n)
FROM (SELECT DISTINCT ON (x.nspname) x.nspname, x.n
      FROM unnest(pg_catalog.current_schemas(false)
                  || ARRAY['public', 'hubspot_sync']::name[]) WITH ORDINALITY AS x(nspname, n)
      WHERE x.nspname <> 'pg_catalog' AND to_regnamespace(x.nspname) IS NOT NULL
      ORDER BY x.nspname, x.n) AS s
"""

# each name (called: followed by "(") the searched schemas hold and pg_catalog does not:
# (name, what it is there, qualified)
_FOUND_SQL = """
WITH names (name, called) AS (SELECT * FROM unnest(%s::text[], %s::boolean[])),
searched (nspname, n) AS (SELECT * FROM unnest(%s::text[]) WITH ORDINALITY),
objects (name, ns, kind, callable) AS (
    SELECT c.relname::text, c.relnamespace, 'relation', false FROM pg_catalog.pg_class AS c
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    UNION ALL
    SELECT t.typname::text, t.typnamespace, 'type', false FROM pg_catalog.pg_type AS t
    UNION ALL
    SELECT p.proname::text, p.pronamespace, 'function', true FROM pg_catalog.pg_proc AS p
)
SELECT DISTINCT ON (n.name) n.name, o.kind, format('%%I.%%I', s.nspname, n.name)
FROM names AS n
JOIN objects AS o ON o.name = n.name AND (n.called OR NOT o.callable)
JOIN pg_catalog.pg_namespace AS ns ON ns.oid = o.ns
JOIN searched AS s ON s.nspname = ns.nspname
WHERE NOT EXISTS (SELECT FROM objects AS c WHERE c.name = n.name
                  AND c.ns = 'pg_catalog'::regnamespace)
ORDER BY n.name, s.n, o.kind <> 'relation'
"""

_QUALIFIED_SQL = """
SELECT f.oid FROM pg_catalog.pg_proc AS f
JOIN pg_catalog.pg_namespace AS n ON n.oid = f.pronamespace
WHERE (n.nspname::text, f.proname::text) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
  AND """ + _READ

_TOKEN = re.compile(r"""
    (?P<skip>--[^\n]*|/\*.*?\*/|[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'
              |(?P<dollar>\$[A-Za-z_]*\$).*?(?P=dollar))
  | "(?P<quoted>(?:[^"]|"")*)"
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<dot>\.)
  | (?P<paren>\()
  | (?P<other>\S)
""", re.VERBOSE | re.DOTALL)


def identifiers(body: str) -> tuple[set[tuple[str, bool]], set[tuple[str, str]]]:
    """The names a function body uses: unqualified ones (name, called: followed by "(") and
    qualified calls (schema, name). Comments, string literals and dollar-quoted strings (dynamic
    SQL) are skipped; a name next to a dot is qualified (or a record's field)."""
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(body):
        if match["skip"] is not None:
            continue
        if match["quoted"] is not None:
            tokens.append(("name", match["quoted"].replace('""', '"')))
        elif match["word"] is not None:
            tokens.append(("name", match["word"].lower()))
        else:
            tokens.append((match.lastgroup or "other", match[0]))
    bare: set[tuple[str, bool]] = set()
    qualified: set[tuple[str, str]] = set()
    for i, (kind, value) in enumerate(tokens):
        if kind != "name":
            continue
        before = tokens[i - 1][0] if i else ""
        after = tokens[i + 1][0] if i + 1 < len(tokens) else ""
        if before == "dot":
            if (i >= 2 and tokens[i - 2][0] == "name" and after == "paren"
                    and (i < 3 or tokens[i - 3][0] != "dot")):
                qualified.add((tokens[i - 2][1], value))
            continue
        if after == "dot":
            continue
        bare.add((value, after == "paren"))
    return bare, qualified


def _searched(query: Query) -> list[str]:
    return list(query(_SEARCHED_SQL, ())[0][0] or [])


def unresolved(query: Query, fn: int, searched: list[str],
               seen: set[int] | None = None) -> Iterator[tuple[str, str, str]]:
    """For a function (by oid) and the functions it calls by a qualified name: (function, a
    name it finds today only through `searched`, found as) for each function with no
    search_path of its own, written in SQL or PL/pgSQL (a body written SQL-standard is resolved
    when it is created)."""
    seen = set() if seen is None else seen
    if fn in seen or len(seen) > 50:
        return
    seen.add(fn)
    rows = query(_FUNCTION_SQL, (fn,))
    if not rows:
        return
    name, language, body, standard, pinned = rows[0]
    if pinned or standard or language not in ("sql", "plpgsql"):
        return
    bare, qualified = identifiers(body or "")
    names = sorted(bare)
    found = query(_FOUND_SQL, ([n for n, _ in names], [c for _, c in names], searched)) \
        if names else []
    for word, kind, where in found:
        yield name, f"{kind} {word}", where
    if qualified:
        pairs = sorted(qualified)
        for (callee,) in query(_QUALIFIED_SQL, ([s for s, _ in pairs], [n for _, n in pairs],
                                                list(PRODUCTION_FUNCTIONS))):
            yield from unresolved(query, callee, searched, seen)


def _pin(functions: dict[str, list[tuple[str, str]]], searched: list[str]) -> str:
    """The fix: each function pinned to the schemas its names are found in today, in the
    order it searches them now (so it finds exactly what it finds today)."""
    used = {where.rsplit(".", 1)[0].strip('"') for names in functions.values()
            for _, where in names}
    path = ", ".join(s for s in searched if s in used) or "public"
    return "; ".join(f"ALTER FUNCTION {fn} SET search_path = {path}" for fn in functions) + (
        " (or schema-qualify those names in its body)")


# event triggers: (object, function oid)
_EVENT_TRIGGERS_SQL = """
SELECT format('event trigger %%I', e.evtname), e.evtfoid
FROM pg_catalog.pg_event_trigger AS e
WHERE e.evtenabled <> 'D'
ORDER BY 1
"""

# INSTEAD OF triggers on views reading an adopted table, their function run as the caller:
# (object, the table, the function, the trigger's name, the view)
_INSTEAD_OF_SQL = """
SELECT DISTINCT format('trigger %%I on view %%s', g.tgname, v.oid::regclass),
       format('hubspot_sync.%%I', t.relname), g.tgfoid::regprocedure::text, g.tgname,
       v.oid::regclass::text
FROM pg_catalog.pg_trigger AS g
JOIN pg_catalog.pg_class AS v ON v.oid = g.tgrelid AND v.relkind = 'v'
JOIN pg_catalog.pg_rewrite AS r ON r.ev_class = v.oid
JOIN pg_catalog.pg_depend AS d
  ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
 AND d.refclassid = 'pg_catalog.pg_class'::regclass
JOIN pg_catalog.pg_class AS t ON t.oid = d.refobjid
JOIN pg_catalog.pg_proc AS f ON f.oid = g.tgfoid
WHERE (g.tgtype & 64) <> 0 AND NOT f.prosecdef
  AND t.relnamespace = to_regnamespace('hubspot_sync') AND t.relname = ANY (%s)
ORDER BY 1, 2
"""

# Column-level privileges the adoption revokes (module docstring): (object, the GRANT giving it
# back, the REVOKE). Parameters: the adopted tables, keep_legacy_grants.
COLUMN_GRANTS_SQL = """
SELECT format('%%s.%%s %%s from %%s', c.relname, a.attname, x.privilege_type, w.who),
       format('GRANT %%s (%%I) ON %%s TO %%s%%s', x.privilege_type, a.attname,
              c.oid::regclass, w.who,
              CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END),
       format('REVOKE %%s (%%I) ON %%s FROM %%s', x.privilege_type, a.attname,
              c.oid::regclass, w.who)
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_attribute AS a
  ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
CROSS JOIN LATERAL pg_catalog.aclexplode(a.attacl) AS x
CROSS JOIN LATERAL (SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_catalog.pg_get_userbyid(x.grantee))
                           END AS who) AS w
WHERE c.relnamespace IN (SELECT oid FROM pg_catalog.pg_namespace
                         WHERE nspname IN ('hubspot_sync', 'mockbook_internal'))
  AND ((c.relnamespace = to_regnamespace('hubspot_sync') AND c.relname = ANY (%s)
        AND x.grantee <> c.relowner)
       OR (NOT %s AND w.who IN ('PUBLIC', 'anon', 'authenticated')))
ORDER BY 1
"""
COLUMN_GRANT_ACTION = "revoked column privilege"


def _unpinned(query: Query, sql: str, params: tuple, searched: list[str]
              ) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """For each object (SQL's rows: object, function oid) whose functions find names only
    through the session's search path: {object: {function: [(name, found as)]}}."""
    callers: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for obj, fn in query(sql, params):
        for function, word, where in unresolved(query, fn, searched):
            names = callers.setdefault(obj, {}).setdefault(function, [])
            if (word, where) not in names:
                names.append((word, where))
    return callers


def _finds(functions: dict[str, list[tuple[str, str]]]) -> str:
    return "; ".join(f"{fn} has no search_path of its own and finds "
                     + ", ".join(f"{word} ({where})" for word, where in names)
                     + " only through the session's search path"
                     for fn, names in functions.items())


def migration_findings(query: Query) -> list[tuple[str, str, str]]:
    """(object, what breaks, the fix) for each object outside mockbook that stops any
    migration (not only the adoption): event triggers reading names through the search path."""
    searched = _searched(query)
    return [(obj, _finds(functions) + ": it fires for the DDL mockbook runs inside functions "
             "that pin search_path = '' (the upgrade's, set_business_timezone, "
             "refresh_analytics), where these are not found (42P01/42883/42704), so that DDL "
             "fails", _pin(functions, searched))
            for obj, functions in _unpinned(query, _EVENT_TRIGGERS_SQL, (), searched).items()]


def findings(query: Query) -> list[tuple[str, str, str]]:
    """(object, what will break after the adoption, the fix) for each object outside mockbook
    on the adopted tables whose behaviour the adoption changes; [] where there is none."""
    if not query("SELECT to_regclass('hubspot_sync.hubspot_bookings') IS NOT NULL", ())[0][0]:
        return []
    searched = _searched(query)
    found = migration_findings(query)
    callers = _unpinned(query, _CALLERS_SQL, (list(ADOPTED), list(PRODUCTION_TRIGGERS),
                                              list(PRODUCTION_FUNCTIONS)), searched)
    for obj, functions in callers.items():
        found.append((obj, _finds(functions) + ": under mockbook's functions (search_path = "
                      "'') these are not found (42P01/42883/42704), so every write that runs "
                      "it fails", _pin(functions, searched)))
    for obj, table, function, trigger, view in query(_INSTEAD_OF_SQL, (list(ADOPTED),)):
        found.append((obj, f"an INSTEAD OF trigger on a view reading {table}: {function} "
                      "writes as the view's caller, and after the adoption only mockbook's "
                      "functions write mockbook's tables (no INSERT, UPDATE or DELETE for "
                      "service_role or any other role): every write through the view fails "
                      "with 42501", f"let the app call mockbook's functions (docs/rpc.md: "
                      f"create_booking, cancel_booking, ...) instead of writing through the "
                      f"view, then DROP TRIGGER {trigger} ON {view}"))
    for obj, event in query(_RULES_SQL, (list(UPSERTED),)):
        found.append((obj, f"mockbook writes this table with INSERT ... ON CONFLICT, which "
                      f"PostgreSQL refuses on a table with an ON {event} rule (0A000)",
                      "replace the rule by a trigger (or drop it)"))
    for obj, command, roles in query(_POLICIES_SQL, (list(ADOPTED),
                                                     list(PRODUCTION_POLICIES))):
        found.append((obj, f"the adoption drops it: {command} through it stops for {roles} "
                      "(only service_role and mockbook_glue keep a policy on mockbook's tables)",
                      "drop it, and let that app call mockbook's functions (docs/rpc.md) or "
                      "read with the service key"))
    for obj, table, owner, table_owner, invoker, materialized in query(_VIEWS_SQL,
                                                                      (list(ADOPTED),)):
        kind = "MATERIALIZED VIEW" if materialized else "VIEW"
        name = obj.split(" ")[-1]
        if invoker:
            found.append((obj, f"it reads {table} as its caller: after the adoption only "
                          f"service_role and {table_owner} may (42501 for anyone else)",
                          f"ALTER {kind} {name} SET (security_invoker = false); "
                          f"ALTER {kind} {name} OWNER TO {table_owner}"))
        else:
            found.append((obj, f"it reads {table} as its owner {owner}, whose privilege there "
                          "the adoption revokes (only the owner and service_role keep one): "
                          "reading it fails with 42501", f"ALTER {kind} {name} OWNER TO "
                          f"{table_owner} (then grant SELECT on it to whoever reads it)"))
    return sorted(found)
