"""Exact privileges, whatever default privileges the database carries: every privilege that
anon, authenticated, service_role and PUBLIC hold on mockbook's tables, views, materialized
views, sequences and functions (hubspot_sync, mockbook_internal), on mockbook.alembic_version
and on the columns of those relations (column-level grants) equals the list docs/dba.md
documents ("Privileges, exactly") — on a fresh install, on a fresh install into a database with
Supabase's default privileges, and after adopting the production dump with them. Supabase's
defaults for an exposed schema reproduced: for the owner (postgres) on tables, functions and
sequences, both in hubspot_sync (schema-level) and in every schema (cluster-wide). The list
names no column: no column privilege of those roles is expected. The production tables mockbook
does not own keep the grants production gave them and are not listed."""

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

# Supabase's recipe for an exposed schema, and its cluster-wide defaults for postgres
SUPABASE_DEFAULTS = [
    f"ALTER DEFAULT PRIVILEGES FOR ROLE postgres{scope} GRANT ALL ON {kind}"
    " TO anon, authenticated, service_role"
    for scope in (" IN SCHEMA hubspot_sync", "")
    for kind in ("TABLES", "FUNCTIONS", "SEQUENCES")
]

ACLS = """
WITH objects AS (
    SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                          WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind,
           c.oid::regclass::text AS name, c.relacl AS acl, c.relowner AS owner,
           CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END AS acl_kind, c.oid AS relid
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE (n.nspname IN ('hubspot_sync', 'mockbook_internal')
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND NOT c.relname = ANY(%(not_owned)s))
       OR c.oid = to_regclass('mockbook.alembic_version')
    UNION ALL
    SELECT 'function', p.oid::regprocedure::text, p.proacl, p.proowner, 'f', NULL
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('hubspot_sync', 'mockbook_internal')),
acls AS (
    SELECT kind, name, coalesce(acl, acldefault(acl_kind::"char", owner)) AS acl FROM objects
    UNION ALL
    -- column-level grants on those relations (NULL: none, the table's own ACL applies)
    SELECT 'column', format('%%s.%%I', o.name, att.attname), att.attacl
    FROM objects o
    JOIN pg_attribute att ON att.attrelid = o.relid
    WHERE att.attnum > 0 AND NOT att.attisdropped
      AND att.attacl IS NOT NULL)
SELECT format('%%s %%s %%s %%s', r.role,
              string_agg(a.privilege_type, ',' ORDER BY a.privilege_type), o.kind, o.name)
FROM acls o
CROSS JOIN LATERAL aclexplode(o.acl) a
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


def columns(lines: list[str]) -> list[str]:
    """The column-level lines (`<role> <privileges> column <relation>.<column>`)."""
    return [line for line in lines if line.split()[2] == "column"]


def assert_documented(url: str) -> None:
    actual = privileges(url)
    # the list names no column, so none of these roles holds a privilege on one
    assert columns(actual) == columns(documented()) == [], (
        "column privileges:\n" + "\n".join(columns(actual)))
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
    and executes, never writes a table or view or runs a mockbook_internal function; it reads
    whole relations, no column alone."""
    lines = documented()
    assert lines and all(line.startswith("service_role ") for line in lines)
    assert columns(lines) == []
    assert all(line.split()[1] in ("SELECT", "EXECUTE") for line in lines)
    assert not [line for line in lines if "mockbook_internal." in line or "alembic_version" in line]


def test_a_column_grant_is_listed(make_database: MakeDatabase) -> None:
    """A grant on one column to an API role or PUBLIC shows in the listing (and so fails the
    comparison with the list)."""
    url = make_database("privileges_column")
    migrations.upgrade(url, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("GRANT SELECT (student_id), UPDATE (student_id)"
                     " ON hubspot_sync.hubspot_bookings TO anon")
        conn.execute("GRANT INSERT (version_num) ON mockbook.alembic_version TO PUBLIC")
    assert sorted(columns(privileges(url))) == [
        "PUBLIC INSERT column mockbook.alembic_version.version_num",
        "anon SELECT,UPDATE column hubspot_sync.hubspot_bookings.student_id",
    ]


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
