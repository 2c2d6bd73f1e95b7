"""What the adoption's DDL would meet outside mockbook, read by env.py (which stops the adoption
before changing anything) and by `mockbook migrate --check` (glue/db/adoption.py). It lives
beside the revisions, not in the package, because env.py loads it without importing mockbook."""

import re

# What the adoption's DDL would meet outside mockbook: objects a DBA or another app built on the
# production columns whose type the upgrade changes, or on the production functions the
# upgrade drops. PostgreSQL refuses ALTER COLUMN ... TYPE under a view, a rule, a policy, a
# trigger naming the column (WHEN or UPDATE OF), a SQL-standard function body, a generated
# column computed from it or a publication's row filter or column list naming it (a
# publication of the whole table is no dependent: the table stays in it), and DROP
# FUNCTION under anything that uses the function; indexes, CHECK constraints and statistics on a
# column are rebuilt by ALTER TYPE itself and need nothing. One row per such dependent:
# (revision, object, what it uses, what the upgrade does to that). env.py stops the adoption
# before changing anything when there is one; `migrate --check` lists them as refusals.
# Written for a driver that takes parameters: every % doubled (run it with parameters).
TYPE_CHANGES = (  # the dual-id step of the upgrade: production's column types
    ("hubspot_contact_credits", "created_at", "timestamptz"),
    ("hubspot_contact_credits", "updated_at", "timestamptz"),
    ("hubspot_contact_credits", "synced_at", "timestamptz"),
    ("hubspot_mock_exams", "exam_date", "date"),
    ("hubspot_mock_exams", "created_at", "timestamptz"),
    ("hubspot_mock_exams", "updated_at", "timestamptz"),
    ("hubspot_mock_exams", "synced_at", "timestamptz"),
    ("hubspot_bookings", "exam_date", "date"),
    ("hubspot_bookings", "token_refunded", "boolean"),
    ("hubspot_bookings", "ndecc_exam_date", "text"),
    ("hubspot_bookings", "created_at", "timestamptz"),
    ("hubspot_bookings", "updated_at", "timestamptz"),
    ("hubspot_bookings", "synced_at", "timestamptz"),
    ("sync_metadata", "last_sync_timestamp", "timestamptz"),
    ("sync_metadata", "created_at", "timestamptz"),
    ("sync_metadata", "updated_at", "timestamptz"),
)
_TYPE_CHANGES_VALUES = ",\n        ".join(f"('{t}', '{c}', '{n}')" for t, c, n in TYPE_CHANGES)
DEPENDENTS_SQL = f"""
WITH changed (tab, col, new_type) AS (
    VALUES
        {_TYPE_CHANGES_VALUES}
), columns AS (
    SELECT c.tab, c.col, c.new_type, a.attrelid, a.attnum
    FROM changed AS c
    JOIN pg_catalog.pg_attribute AS a
      ON a.attrelid = to_regclass('hubspot_sync.' || c.tab) AND a.attname = c.col
     AND NOT a.attisdropped
    -- only while the column still has production's type (an upgrade part-way has changed it)
    WHERE format_type(a.atttypid, a.atttypmod) <> c.new_type
      AND NOT (c.new_type = 'timestamptz'
               AND a.atttypid = 'timestamp with time zone'::regtype)
), dropped AS (
    -- the legacy audit trigger functions; production's booking calls whose signature mockbook
    -- changes (and any overload of their names not in the production dump); the aggregate
    -- functions, where booking_details_view is missing
    SELECT p.oid, '0002_mockbook_1_0' AS rev
    FROM pg_catalog.pg_proc AS p
    WHERE p.pronamespace = 'hubspot_sync'::regnamespace
      AND (p.proname IN ('log_booking_changes', 'log_contact_credits_changes', 'log_exam_changes',
                         'create_booking_atomic', 'create_booking_atomic_v1',
                         'cancel_booking_atomic')
           OR (p.proname IN ('get_booking', 'get_contact_credits', 'check_idempotency_key',
                             'increment_exam_bookings')
               AND NOT p.oid = ANY (ARRAY[
                   to_regprocedure('hubspot_sync.get_booking(uuid, text, text)'),
                   to_regprocedure('hubspot_sync.get_contact_credits(text, text, uuid, text)'),
                   to_regprocedure('hubspot_sync.check_idempotency_key(text)'),
                   to_regprocedure('hubspot_sync.increment_exam_bookings(text, integer)')
               ]::oid[]))
           OR (p.proname IN ('get_booking_aggregates', 'get_booking_aggregates_count')
               AND to_regclass('hubspot_sync.booking_details_view') IS NULL))
), uses AS (
    SELECT DISTINCT '0002_mockbook_1_0' AS rev, d.classid, d.objid, 0 AS objsubid,
           format('column %%s.%%s', c.tab, c.col) AS target,
           format('changes its type to %%s', c.new_type) AS change
    FROM columns AS c
    JOIN pg_catalog.pg_depend AS d
      ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = c.attrelid
     AND d.refobjsubid = c.attnum AND d.deptype = 'n'
    WHERE d.classid IN ('pg_catalog.pg_rewrite'::regclass, 'pg_catalog.pg_trigger'::regclass,
                        'pg_catalog.pg_policy'::regclass, 'pg_catalog.pg_proc'::regclass,
                        -- a publication's row filter or column list naming the column
                        'pg_catalog.pg_publication_rel'::regclass)
      -- the production audit triggers, which the upgrade drops before it changes the types
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger AS t WHERE t.oid = d.objid
                        AND d.classid = 'pg_catalog.pg_trigger'::regclass
                        AND t.tgname IN ('bookings_audit_trigger',
                                         'contact_credits_audit_trigger', 'exams_audit_trigger'))
    UNION
    -- a generated column computed from the column (PostgreSQL refuses to change its type)
    -- (its generation expression, a pg_attrdef row, depends on the column)
    SELECT '0002_mockbook_1_0', 'pg_catalog.pg_class'::regclass, f.adrelid, f.adnum,
           format('column %%s.%%s', c.tab, c.col), format('changes its type to %%s', c.new_type)
    FROM columns AS c
    JOIN pg_catalog.pg_depend AS d
      ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = c.attrelid
     AND d.refobjsubid = c.attnum AND d.classid = 'pg_catalog.pg_attrdef'::regclass
     AND d.deptype = 'n'
    JOIN pg_catalog.pg_attrdef AS f ON f.oid = d.objid
    JOIN pg_catalog.pg_attribute AS g
      ON g.attrelid = f.adrelid AND g.attnum = f.adnum AND g.attgenerated <> ''
    UNION
    SELECT f.rev, d.classid, d.objid, 0, format('function %%s', f.oid::regprocedure),
           'drops it'
    FROM dropped AS f
    JOIN pg_catalog.pg_depend AS d
      ON d.refclassid = 'pg_catalog.pg_proc'::regclass AND d.refobjid = f.oid
     AND d.deptype = 'n'
    -- the production audit triggers, dropped with their functions
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_trigger AS t WHERE t.oid = d.objid
                        AND d.classid = 'pg_catalog.pg_trigger'::regclass
                        AND t.tgname IN ('bookings_audit_trigger',
                                         'contact_credits_audit_trigger', 'exams_audit_trigger'))
)
SELECT u.rev,
       CASE WHEN u.classid = 'pg_catalog.pg_rewrite'::regclass THEN (
                SELECT CASE WHEN r.rulename = '_RETURN'
                            THEN CASE k.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END
                                 || format('%%I.%%I', n.nspname, k.relname)
                            ELSE format('rule %%I on %%I.%%I', r.rulename, n.nspname, k.relname) END
                FROM pg_catalog.pg_rewrite AS r
                JOIN pg_catalog.pg_class AS k ON k.oid = r.ev_class
                JOIN pg_catalog.pg_namespace AS n ON n.oid = k.relnamespace
                WHERE r.oid = u.objid)
            WHEN u.objsubid <> 0 THEN (
                SELECT 'generated column ' || i.identity
                FROM pg_catalog.pg_identify_object(u.classid, u.objid, u.objsubid) AS i)
            ELSE (SELECT i.type || ' ' || i.identity
                  FROM pg_catalog.pg_identify_object(u.classid, u.objid, 0) AS i)
       END AS dependent,
       u.target, u.change
FROM uses AS u
ORDER BY 2, 3
"""


# The API's statement timeouts. PostgREST opens its connections as `authenticator` and runs a call
# as the role of the caller's key (anon, authenticated, service_role), with that role's own
# settings: those set for all databases (`ALTER ROLE ... SET`, pg_roles.rolconfig; one set `IN
# DATABASE` is not applied) of the roles its login is a member of. A role without its own keeps
# what the connection got at login, in PostgreSQL's order: authenticator's for this database,
# authenticator's, the database's (`ALTER DATABASE ... SET`), every role's (`ALTER ROLE ALL`).
# (https://docs.postgrest.org/en/v12/references/transactions.html#impersonated-role-settings;
# PostgREST's queryRoleSettings reads pg_roles.rolconfig through pg_auth_members.) Supabase sets
# anon 3 s, authenticated 8 s and authenticator 8 s, which service_role inherits
# (https://supabase.com/docs/guides/database/postgres/timeouts). A call of the old apps that
# waits on the adoption's locks longer than its timeout is cancelled by PostgreSQL (57014),
# nothing of it kept. Read by env.py (said after the adoption when its window was longer) and by
# `mockbook migrate --check`. One row per API role that exists: (role, value as set, set on).
API_TIMEOUTS_SQL = """
WITH api (role) AS (VALUES ('anon'), ('authenticated'), ('service_role')),
login AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'authenticator'),
timeouts AS (
    SELECT s.setrole, s.setdatabase, substr(c.item, length('statement_timeout=') + 1) AS value
    FROM pg_catalog.pg_db_role_setting AS s, unnest(s.setconfig) AS c(item)
    WHERE starts_with(c.item, 'statement_timeout=')
      AND s.setdatabase IN (0, (SELECT d.oid FROM pg_catalog.pg_database AS d
                                WHERE d.datname = current_database()))
),
at_login AS (
    SELECT t.value,
           CASE WHEN t.setrole <> 0 THEN 'authenticator'
                WHEN t.setdatabase <> 0 THEN 'the database' ELSE 'every role' END AS set_on
    FROM timeouts AS t
    WHERE t.setrole = 0 OR t.setrole = (SELECT oid FROM login)
    ORDER BY t.setrole = 0, t.setdatabase = 0
    LIMIT 1
)
SELECT a.role, coalesce(own.value, l.value),
       CASE WHEN own.value IS NOT NULL THEN a.role ELSE l.set_on END
FROM api AS a
JOIN pg_catalog.pg_roles AS r ON r.rolname = a.role
LEFT JOIN timeouts AS own ON own.setrole = r.oid AND own.setdatabase = 0
LEFT JOIN at_login AS l ON true
ORDER BY a.role
"""
_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "min": 6e4, "h": 3.6e6, "d": 8.64e7}
_NUMBER = re.compile(r"([+-]?(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?))"
                     r"\s*([a-z]*)")


def timeout_seconds(value: str) -> float | None:
    """A statement_timeout as PostgreSQL reads it (an integer in hex or octal too, or a number;
    no unit: milliseconds; rounded to whole milliseconds), in seconds; None: no limit (0) or a
    value this cannot read."""
    match = _NUMBER.fullmatch(value.strip().strip("'\"").strip())
    if match is None or match[2] not in ("", *_UNITS_MS):
        return None
    number = match[1].lstrip("+")
    if re.fullmatch(r"-?0[xX][0-9a-fA-F]+", number):
        amount = float(int(number, 16))
    elif re.fullmatch(r"-?0[0-7]+", number):
        amount = float(int(number, 8))
    else:
        amount = float(number)
    ms = round(amount * _UNITS_MS[match[2] or "ms"])
    return ms / 1000 if ms > 0 else None


def api_timeouts(rows) -> dict:
    """API_TIMEOUTS_SQL's rows as {role: {"seconds": s or None (no limit), "set_on": who}}."""
    found = {}
    for role, value, set_on in rows:
        seconds = None if value is None else timeout_seconds(value)
        found[role] = {"seconds": seconds, "set_on": set_on if seconds else None}
    return found


def exceeded(timeouts: dict, window_s: float) -> dict:
    """The roles whose statement timeout is shorter than a lock window: {role: seconds}."""
    return {role: t["seconds"] for role, t in timeouts.items()
            if t["seconds"] is not None and t["seconds"] < window_s}


def cancelled(cut: dict) -> str:
    """What exceeded() found, said for the DBA: whose calls were cut off, and what that did."""
    roles = ", ".join(f"{role} ({seconds:g} s)" for role, seconds in sorted(cut.items()))
    return (f"the upgrade's wait and window were longer than the statement timeout of {roles}: "
            "any call of theirs that waited longer was cancelled (57014), nothing of it kept; "
            "the same call sent again reaches mockbook (docs/dba.md: the API's statement "
            "timeouts)")
