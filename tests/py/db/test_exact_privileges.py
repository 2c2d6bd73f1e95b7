"""Exact privileges, whatever default privileges the database carries: every privilege that
anon, authenticated, service_role and PUBLIC hold on mockbook's tables, views, materialized
views, sequences and functions (hubspot_sync, mockbook_internal) and on mockbook.alembic_version
equals the list docs/dba.md documents ("Privileges, exactly") — on a fresh install, on a fresh
install into a database with Supabase's default privileges, and after adopting the production
dump with them. Supabase's defaults reproduced: schema-level on hubspot_sync for tables, and
for the owner in every schema on tables, functions and sequences. The production tables
mockbook does not own keep the grants production gave them and are not listed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import psycopg
from test_adopt_production import BASELINE, NOT_OWNED, load_dump

from glue.db import migrations

MakeDatabase = Callable[[str], str]
DOC = Path(__file__).resolve().parents[3] / "docs" / "dba.md"
API_ROLES = ("anon", "authenticated", "service_role")

SUPABASE_DEFAULTS = [
    "ALTER DEFAULT PRIVILEGES IN SCHEMA hubspot_sync GRANT ALL ON TABLES"
    " TO anon, authenticated, service_role",
    *(f"ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT ALL ON {kind}"
      " TO anon, authenticated, service_role" for kind in ("TABLES", "FUNCTIONS", "SEQUENCES")),
]

ACLS = """
WITH objects AS (
    SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                          WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind,
           c.oid::regclass::text AS name, c.relacl AS acl, c.relowner AS owner,
           CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END AS acl_kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE (n.nspname IN ('hubspot_sync', 'mockbook_internal')
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND NOT c.relname = ANY(%(not_owned)s))
       OR c.oid = to_regclass('mockbook.alembic_version')
    UNION ALL
    SELECT 'function', p.oid::regprocedure::text, p.proacl, p.proowner, 'f'
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('hubspot_sync', 'mockbook_internal'))
SELECT format('%%s %%s %%s %%s', r.role,
              string_agg(a.privilege_type, ',' ORDER BY a.privilege_type), o.kind, o.name)
FROM objects o
CROSS JOIN LATERAL aclexplode(coalesce(o.acl, acldefault(o.acl_kind::"char", o.owner))) a
CROSS JOIN LATERAL (SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                ELSE pg_get_userbyid(a.grantee) END AS role) r
WHERE r.role IN ('PUBLIC', 'anon', 'authenticated', 'service_role')
GROUP BY r.role, o.kind, o.name
ORDER BY 1
"""


def privileges(url: str) -> list[str]:
    """`<role> <privileges> <kind> <name>`, one line per object and role."""
    with psycopg.connect(url) as conn:
        counted = conn.execute("SELECT count(*) FROM pg_class"
                               " WHERE oid = to_regclass('mockbook.alembic_version')").fetchone()
        assert counted == (1,)
        rows = conn.execute(ACLS, {"not_owned": list(NOT_OWNED)}).fetchall()
    return [row[0] for row in rows]


def documented() -> list[str]:
    """The list in docs/dba.md, between its two marker comments."""
    text = DOC.read_text()
    block = re.search(r"<!-- privileges: begin -->\n```text\n(.*?)```\n<!-- privileges: end -->",
                      text, re.DOTALL)
    assert block, "docs/dba.md has no privileges list"
    return sorted(line.strip() for line in block[1].splitlines() if line.strip())


def assert_documented(url: str) -> None:
    actual = privileges(url)
    assert actual == documented(), (
        "privileges differ from docs/dba.md (the actual list):\n" + "\n".join(actual))


def supabase_defaults(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS hubspot_sync")
        for statement in SUPABASE_DEFAULTS:
            conn.execute(statement)


def supabase_roles(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        # roles are the cluster's, shared with the tests beside this one
        conn.execute("LOCK TABLE pg_catalog.pg_authid IN SHARE ROW EXCLUSIVE MODE")
        for role in API_ROLES:
            if conn.execute("SELECT FROM pg_roles WHERE rolname = %s", [role]).fetchone() is None:
                conn.execute(f"CREATE ROLE {role} NOLOGIN")


def test_the_documented_list_names_only_what_service_role_may() -> None:
    """The list itself: nothing for anon, authenticated or PUBLIC; service_role reads (SELECT)
    and executes, never writes a table or view or runs a mockbook_internal function."""
    lines = documented()
    assert lines and all(line.startswith("service_role ") for line in lines)
    assert all(line.split()[1] in ("SELECT", "EXECUTE") for line in lines)
    assert not [line for line in lines if "mockbook_internal." in line or "alembic_version" in line]


def test_a_fresh_install_has_exactly_the_documented_privileges(make_database: MakeDatabase):
    url = make_database("privileges_fresh")
    migrations.upgrade(url, "head")
    assert_documented(url)


def test_supabase_default_privileges_add_nothing_to_a_fresh_install(make_database: MakeDatabase):
    url = make_database("privileges_supabase")
    supabase_roles(url)
    supabase_defaults(url)
    migrations.upgrade(url, "head")
    assert_documented(url)


def test_an_adoption_under_supabase_defaults_has_exactly_the_documented_privileges(
    make_database: MakeDatabase,
) -> None:
    url = make_database("privileges_adopt")
    load_dump(url)
    supabase_defaults(url)
    migrations.stamp(url, BASELINE)
    migrations.upgrade(url, "head")
    assert_documented(url)
