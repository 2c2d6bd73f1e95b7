"""Nothing legacy stays open: after the adoption (and on a fresh install) no table, view,
sequence or function of hubspot_sync or mockbook_internal grants anything to PUBLIC, anon or
authenticated, production's policies written TO public name service_role, and Supabase's
default privileges on hubspot_sync no longer open later objects to anon.

Supabase's documented defaults, applied to the production dump first ("Supabase roles and
default privileges": `alter default privileges in schema <s> grant all on tables / functions /
sequences to anon, authenticated, service_role`, and USAGE on an exposed schema)."""

from __future__ import annotations

import os
from collections.abc import Callable

import psycopg
from test_adopt_production import load_dump

from glue.db import migrations

MakeDatabase = Callable[[str], str]

OPEN = """
SELECT c.oid::regclass::text || ' ' || a.privilege_type
FROM pg_class AS c CROSS JOIN LATERAL aclexplode(c.relacl) AS a
LEFT JOIN pg_roles AS r ON r.oid = a.grantee
WHERE c.relnamespace IN (SELECT oid FROM pg_namespace
                         WHERE nspname IN ('hubspot_sync', 'mockbook_internal'))
  AND (a.grantee = 0 OR r.rolname IN ('anon', 'authenticated'))
UNION ALL
SELECT p.oid::regprocedure::text || ' EXECUTE'
FROM pg_proc AS p
CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
LEFT JOIN pg_roles AS r ON r.oid = a.grantee
WHERE p.pronamespace IN (SELECT oid FROM pg_namespace
                         WHERE nspname IN ('hubspot_sync', 'mockbook_internal'))
  AND (a.grantee = 0 OR r.rolname IN ('anon', 'authenticated'))
UNION ALL
SELECT 'policy ' || polname || ' on ' || polrelid::regclass::text || ' TO public'
FROM pg_policy WHERE polroles = '{0}'
  AND polrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'hubspot_sync'::regnamespace)
ORDER BY 1
"""

ROLES = "anon, authenticated, service_role"
SUPABASE_DEFAULTS = f"""
GRANT USAGE ON SCHEMA hubspot_sync TO {ROLES};
ALTER DEFAULT PRIVILEGES IN SCHEMA hubspot_sync GRANT ALL ON TABLES TO {ROLES};
ALTER DEFAULT PRIVILEGES IN SCHEMA hubspot_sync GRANT ALL ON FUNCTIONS TO {ROLES};
ALTER DEFAULT PRIVILEGES IN SCHEMA hubspot_sync GRANT ALL ON SEQUENCES TO {ROLES};
GRANT ALL ON ALL SEQUENCES IN SCHEMA hubspot_sync TO anon, authenticated;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA hubspot_sync TO anon, authenticated;
"""


def open_privileges(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(OPEN)]


def adopted(fresh_database: MakeDatabase, name: str) -> str:
    url = fresh_database(name)
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SUPABASE_DEFAULTS)
    migrations.stamp(url, "0001_baseline")
    assert open_privileges(url), "the dump with Supabase's defaults should start open"
    return url


def test_the_adoption_closes_every_legacy_grant_and_reports_it(
        fresh_database: MakeDatabase) -> None:
    url = adopted(fresh_database, "grants_closed")
    migrations.upgrade(url, "head")
    assert open_privileges(url) == []
    with psycopg.connect(url, autocommit=True) as conn:
        actions = dict(conn.execute(
            "SELECT action, count(*) FROM hubspot_sync.adoption_report"
            " WHERE action IN ('revoked legacy privileges', 'policy narrowed to service_role',"
            "                  'default privileges revoked') GROUP BY 1").fetchall())
        # the seven tables mockbook does not own, at least
        assert actions["revoked legacy privileges"] >= 7
        assert actions["policy narrowed to service_role"] >= 6
        assert actions["default privileges revoked"] >= 1
        # a view created later in the schema is not open to anon
        conn.execute("CREATE VIEW hubspot_sync.dba_report AS SELECT 1 AS one")
        assert not conn.execute("SELECT has_table_privilege('anon', 'hubspot_sync.dba_report',"
                                " 'SELECT')").fetchone()[0]
        # service_role keeps what it had on the production tables
        assert conn.execute("SELECT has_table_privilege('service_role', 'hubspot_sync.groups',"
                            " 'INSERT')").fetchone()[0]


# what a role may do with each relation of hubspot_sync (and each sequence), as that role sees it
SEEN = """
SELECT c.oid::regclass::text, p.priv
FROM pg_class AS c
CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
                        'TRIGGER', 'USAGE']) AS p(priv)
WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND CASE WHEN c.relkind = 'S'
           THEN p.priv IN ('SELECT', 'UPDATE', 'USAGE')
                AND has_sequence_privilege(current_user, c.oid, p.priv)
           ELSE p.priv <> 'USAGE' AND has_table_privilege(current_user, c.oid, p.priv) END
ORDER BY 1, 2
"""
OWNED = ("hubspot_sync.hubspot_bookings", "hubspot_sync.hubspot_contact_credits",
         "hubspot_sync.hubspot_mock_exams", "hubspot_sync.sync_metadata")
OTHER_APP_ROWS = """
INSERT INTO hubspot_sync.hubspot_contact_credits (hubspot_id, student_id, email)
VALUES ('70000001', 'STU000001', 'one@example.com');
INSERT INTO hubspot_sync.instructors (id, instructor_name, email)
VALUES ('00000000-0000-0000-0000-000000000001', 'Dr. One', 'one@example.com');
INSERT INTO hubspot_sync.groups (group_id, group_name, time_period, start_date)
VALUES ('G1', 'Group 1', 'AM', '2025-09-01');
INSERT INTO hubspot_sync.groups_students (group_id, student_id) VALUES ('G1', 'STU000001');
"""


def seen_as(url: str, role: str) -> dict:
    """What `role` may reach in hubspot_sync: the schema's USAGE, its privileges on every
    relation, and every row it reads of the relations it may read."""
    with psycopg.connect(url) as conn:
        conn.execute(f"SET ROLE {role}")
        usage = conn.execute("SELECT has_schema_privilege('hubspot_sync', 'USAGE')").fetchone()[0]
        privileges = conn.execute(SEEN).fetchall()
        rows = {}
        for relation, privilege in privileges if usage else []:
            if privilege == "SELECT" and not relation.endswith("_seq"):
                rows[relation] = sorted(r[0] for r in conn.execute(
                    f"SELECT to_jsonb(t)::text FROM {relation} AS t"))
    return {"usage": usage, "privileges": privileges, "rows": rows}


def test_a_shop_that_needs_the_old_grants_opts_out(fresh_database: MakeDatabase) -> None:
    """With mockbook.keep_legacy_grants = on, the other app (a browser key: anon or
    authenticated) reads exactly what it read before: the schema, every table mockbook does not
    own with the same rows, the same privileges. mockbook's four tables are sealed whatever the
    setting (docs/dba.md: their data goes through mockbook's functions and service_role)."""
    url = adopted(fresh_database, "grants_kept")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(OTHER_APP_ROWS)
    before = {role: seen_as(url, role) for role in ("anon", "authenticated")}
    assert before["anon"]["usage"] and before["anon"]["rows"]["hubspot_sync.groups"]
    os.environ["PGOPTIONS"] = "-c mockbook.keep_legacy_grants=on"
    try:
        migrations.upgrade(url, "head")
    finally:
        del os.environ["PGOPTIONS"]
    with psycopg.connect(url, autocommit=True) as conn:   # what the other app writes since
        conn.execute("INSERT INTO hubspot_sync.groups (group_id, group_name, time_period,"
                     " start_date) VALUES ('G2', 'Group 2', 'PM', '2025-09-02')")
    for role, saw in before.items():
        now = seen_as(url, role)
        assert now["usage"], f"{role} lost USAGE on hubspot_sync"
        assert [p for p in now["privileges"] if p[0] not in OWNED] == [
            p for p in saw["privileges"] if p[0] not in OWNED], role
        assert not [p for p in now["privileges"] if p[0] in OWNED], role
        rows = {rel: found for rel, found in now["rows"].items() if rel not in OWNED}
        groups = rows["hubspot_sync.groups"]
        assert [row for row in groups if '"G2"' in row], role   # and what it wrote since
        rows["hubspot_sync.groups"] = [row for row in groups if '"G2"' not in row]
        assert rows == {rel: found for rel, found in saw["rows"].items() if rel not in OWNED}
    still_open = open_privileges(url)
    assert any(p.startswith("hubspot_sync.groups ") for p in still_open), still_open
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM hubspot_sync.adoption_report WHERE action ="
                            " 'legacy grants kept (mockbook.keep_legacy_grants = on)'"
                            ).fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM hubspot_sync.adoption_report WHERE action ="
                            " 'revoked schema privilege'").fetchone()[0] == 0


def test_a_fresh_install_opens_nothing(database_url: str) -> None:
    assert open_privileges(database_url) == []
