"""Supabase compatibility: the same revisions run unchanged on a plain
PostgreSQL server, where they create the roles anon / authenticated / service_role (NOLOGIN) and
auth.uid() / auth.role() / auth.jwt() reading request.jwt.claims, and on a Supabase-like server,
where those already exist and are left exactly as they were.

Roles are cluster-wide and the shared test server already has them, so the "plain PostgreSQL"
case runs in a throw-away cluster started with initdb for this module (stopped at the end); so
does a Supabase-like cluster whose roles carry Supabase's own settings. Each case migrates twice
(upgrade head, upgrade head again, downgrade base, upgrade head, twice).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from glue.db import migrations

ROLES = ("anon", "authenticated", "service_role")
SUB = "6f1c0c9e-3f0c-4a4e-9d59-7d0b8f0a1b2c"
FIXED_UID = "00000000-0000-4000-8000-00000000beef"


# --- throw-away clusters -------------------------------------------------------------------------


def _bindir(major: int) -> Path:
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin")]
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(out.stdout.strip()))
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    pytest.fail(f"initdb/pg_ctl for PostgreSQL {major} not found in {candidates}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres OS user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def start_cluster(pg_params: dict[str, str]) -> Iterator[Callable[[], str]]:
    """Factory: start a fresh, empty cluster of the test server's major version; returns the
    URL of its `postgres` database. Every cluster is stopped and removed at the end."""
    with psycopg.connect(**pg_params, dbname="postgres") as conn:
        major = conn.info.server_version // 10000
    bindir = _bindir(major)
    started: list[Path] = []

    def start() -> str:
        root = Path(tempfile.mkdtemp(prefix="mockbook-cluster-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        data, port = root / "data", _free_port()
        subprocess.run(
            _as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                          "--auth=trust", "--no-sync", "-E", "UTF8"]),
            check=True, capture_output=True)
        started.append(root)
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                          "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
                          "-w", "start"]),
            check=True, capture_output=True)
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    yield start
    for root in started:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(root / "data"),
                                     "-m", "immediate", "-w", "stop"]),
                       check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _create_database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + "/" + name


# --- what to check -------------------------------------------------------------------------------


def role_attributes(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT r.rolname, r.rolcanlogin, r.rolinherit, r.rolbypassrls, r.rolsuper,"
            " r.rolcreaterole, r.rolcreatedb, r.rolconfig,"
            " ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g"
            "       ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1),"
            " ARRAY(SELECT u.rolname::text FROM pg_auth_members m JOIN pg_roles u"
            "       ON u.oid = m.member WHERE m.roleid = r.oid ORDER BY 1)"
            " FROM pg_roles r WHERE r.rolname = ANY(%s)", [list(ROLES)]).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def auth_definitions(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p"
            " WHERE p.pronamespace = 'auth'::regnamespace").fetchall()
    return dict(rows)


def claims_as_seen_by_auth(url: str, claims: dict | None, role: str | None = None) -> tuple:
    """auth.uid(), auth.role(), auth.jwt() inside a request whose JWT claims are `claims`."""
    with psycopg.connect(url) as conn:
        if claims is not None:
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)", [json.dumps(claims)])
        if role:
            conn.execute(f"SET LOCAL ROLE {role}")
        row = conn.execute("SELECT auth.uid(), auth.role(), auth.jwt()").fetchone()
        conn.rollback()
    return row


def version(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT version_num FROM mockbook.alembic_version").fetchone()
    return row[0] if row else None


def migrate_twice(url: str) -> None:
    """upgrade head; upgrade head again (a no-op); then downgrade base + upgrade head, twice."""
    migrations.upgrade(url, "head")
    migrations.upgrade(url, "head")
    assert version(url) == migrations.head()
    for _ in range(2):
        migrations.downgrade(url, "base")
        assert version(url) is None
        migrations.upgrade(url, "head")
        assert version(url) == migrations.head()


# --- plain PostgreSQL: nothing Supabase exists ---------------------------------------------------


@pytest.fixture(scope="module")
def bare(start_cluster: Callable[[], str]) -> dict:
    server = start_cluster()
    before = role_attributes(server)
    first = _create_database(server, "mockbook_a")
    migrate_twice(first)
    second = _create_database(server, "mockbook_b")  # the roles now exist: created by `first`
    migrate_twice(second)
    return {"server": server, "roles_before": before, "first": first, "second": second}


def test_a_plain_cluster_has_no_supabase_roles_before(bare: dict) -> None:
    assert bare["roles_before"] == {}


def test_migrations_create_the_roles_nologin(bare: dict) -> None:
    #              login  inherit bypassrls super  createrole createdb config members of/in
    expected = {
        "anon": (False, False, False, False, False, False, None, [], []),
        "authenticated": (False, False, False, False, False, False, None, [], []),
        "service_role": (False, False, True, False, False, False, None, [], []),
    }
    assert role_attributes(bare["first"]) == expected


@pytest.mark.parametrize("which", ["first", "second"])
def test_auth_helpers_read_request_jwt_claims(bare: dict, which: str) -> None:
    url = bare[which]
    claims = {"sub": SUB, "role": "authenticated", "email": "ada@example.com", "aal": "aal1"}
    assert claims_as_seen_by_auth(url, claims) == (uuid.UUID(SUB), "authenticated", claims)
    assert claims_as_seen_by_auth(url, {"role": "service_role"}) == (
        None, "service_role", {"role": "service_role"})
    assert claims_as_seen_by_auth(url, None) == (None, None, None)


@pytest.mark.parametrize("which", ["first", "second"])
def test_auth_helpers_are_callable_by_the_request_roles(bare: dict, which: str) -> None:
    """As on Supabase (auth schema usable by anon, authenticated and service_role): an RPC or a
    policy running as the request's role may call auth.uid()/auth.role()/auth.jwt()."""
    url = bare[which]
    for role in ROLES:
        claims = {"sub": SUB, "role": role}
        assert claims_as_seen_by_auth(url, claims, role=role) == (uuid.UUID(SUB), role, claims)


def test_both_databases_reach_head_with_the_auth_helpers(bare: dict) -> None:
    for which in ("first", "second"):
        assert version(bare[which]) == migrations.head()
        assert set(auth_definitions(bare[which])) == {"uid", "role", "jwt"}


# --- Supabase-like: the roles and auth.* exist already -------------------------------------------

SUPABASE_LIKE = """
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';
"""

SUPABASE_AUTH = f"""
CREATE SCHEMA auth;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
-- deliberately different from mockbook's definition: the migration must not replace it
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
AS $$ SELECT '{FIXED_UID}'::uuid $$;
COMMENT ON FUNCTION auth.uid() IS 'Supabase''s own auth.uid()';
"""


@pytest.fixture(scope="module")
def supabase_like(start_cluster: Callable[[], str]) -> dict:
    server = start_cluster()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(SUPABASE_LIKE)
    url = _create_database(server, "supabase_like")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SUPABASE_AUTH)
    before = {"roles": role_attributes(url), "auth": auth_definitions(url)}
    migrate_twice(url)
    return {"url": url, "before": before}


def test_existing_roles_keep_their_attributes(supabase_like: dict) -> None:
    before = supabase_like["before"]["roles"]
    assert before["anon"][6] == ["statement_timeout=3s"]
    assert before["service_role"][8] == ["authenticator"]
    assert role_attributes(supabase_like["url"]) == before


def test_existing_auth_uid_is_left_untouched(supabase_like: dict) -> None:
    url = supabase_like["url"]
    after = auth_definitions(url)
    assert after["uid"] == supabase_like["before"]["auth"]["uid"]
    assert FIXED_UID in after["uid"]
    # only the missing helpers were created
    assert set(after) == {"uid", "role", "jwt"}
    uid, role, jwt = claims_as_seen_by_auth(url, {"sub": SUB, "role": "authenticated"})
    assert (uid, role, jwt) == (uuid.UUID(FIXED_UID), "authenticated",
                                {"sub": SUB, "role": "authenticated"})
    with psycopg.connect(url) as conn:
        (comment,) = conn.execute("SELECT obj_description('auth.uid()'::regprocedure)").fetchone()
    assert comment == "Supabase's own auth.uid()"


def test_on_the_shared_server_an_existing_auth_uid_is_untouched(
    make_database: Callable[[str], str], database_url: str,
) -> None:
    """The same on the test server (roles already there): a database with its own auth.uid().
    (``database_url``, the run's migrated template, is what puts the roles there on a server
    that never saw a run: without it this test failed when it ran first on a fresh cluster.)"""
    url = make_database("supabase_auth")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE SCHEMA auth; CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE"
            f" AS $$ SELECT '{FIXED_UID}'::uuid $$")
    roles_before, auth_before = role_attributes(url), auth_definitions(url)
    migrate_twice(url)
    assert role_attributes(url) == roles_before
    assert auth_definitions(url)["uid"] == auth_before["uid"]
    assert claims_as_seen_by_auth(url, {"sub": SUB})[0] == uuid.UUID(FIXED_UID)


# --- the API's statement timeouts, as `migrate --check` and the adoption read them --------------

def _seen(conn: psycopg.Connection) -> dict[str, tuple[float | None, str | None]]:
    from glue.db.adoption import api_timeouts

    with conn.cursor() as cur:
        return {role: (t["seconds"], t["set_on"]) for role, t in api_timeouts(cur).items()}


def test_the_api_timeouts_are_the_ones_postgrest_applies(
        start_cluster: Callable[[], str]) -> None:
    """An API role's own statement timeout set for all databases (what PostgREST applies; one
    set for this database only is not), else what the `authenticator` connection got at login,
    in PostgreSQL's order: its own for this database, its own, the database's, every role's."""
    server = start_cluster()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(SUPABASE_LIKE)
        assert _seen(conn) == {"anon": (3.0, "anon"), "authenticated": (8.0, "authenticated"),
                               "service_role": (None, None)}
        conn.execute("ALTER ROLE authenticator SET statement_timeout = '8s'")  # Supabase's
        assert _seen(conn)["service_role"] == (8.0, "authenticator")
        conn.execute("ALTER ROLE service_role IN DATABASE postgres SET statement_timeout = '1s'")
        conn.execute("ALTER ROLE authenticator IN DATABASE postgres SET statement_timeout = 20000")
        assert _seen(conn)["service_role"] == (20.0, "authenticator")
        conn.execute("ALTER ROLE authenticator IN DATABASE postgres RESET statement_timeout")
        conn.execute("ALTER ROLE authenticator RESET statement_timeout")
        conn.execute("ALTER ROLE ALL SET statement_timeout = '40s'")
        assert _seen(conn)["service_role"] == (40.0, "every role")
        conn.execute("ALTER DATABASE postgres SET statement_timeout = '1min'")
        assert _seen(conn)["service_role"] == (60.0, "the database")
        assert _seen(conn)["anon"] == (3.0, "anon")
        conn.execute("ALTER ROLE service_role SET statement_timeout = 0")  # its own: no limit
        assert _seen(conn)["service_role"] == (None, None)


@pytest.mark.parametrize(("value", "seconds"), [
    ("3s", 3.0), ("8000", 8.0), ("1min", 60.0), ("1.5h", 5400.0), ("'8s'", 8.0), ("2 s", 2.0),
    ("0x10", 0.016), ("010", 0.008), ("+5s", 5.0), ("1e3", 1.0), ("1500us", 0.002),
    ("0", None), ("100us", None), ("abc", None), ("5 parsecs", None),
])
def test_a_timeout_is_read_as_postgresql_reads_it(value: str, seconds: float | None) -> None:
    """Hex, octal, exponents and units as PostgreSQL takes them, rounded to whole
    milliseconds; 0 (or what rounds to it) is no limit; a value it cannot read raises
    nothing (`migrate --check` and the adoption go on)."""
    from glue.db.adoption import migrations_module

    assert migrations_module("dependents").timeout_seconds(value) == seconds
