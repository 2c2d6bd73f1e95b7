"""The zero-config path and the CLI's handling of bad configuration."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from glue.db.migrations import head

MOCKBOOK = shutil.which("mockbook", path=os.path.dirname(sys.executable)) or "mockbook"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([MOCKBOOK, *args], capture_output=True, text=True, timeout=300,
                          env={**base, **(env or {})}, cwd=cwd)


def test_embedded_up_migrate_down(embedded_dir: Path) -> None:
    """With no DATABASE_URL: `up` starts the embedded server and prints its URL, `migrate`
    brings it to head, the schema is there, `down` stops it."""
    env = {"MOCKBOOK_DATA_DIR": str(embedded_dir / "data")}
    started = run("up", env=env)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip().splitlines()[-1]
    assert url.startswith("postgresql://")
    try:
        migrated = run("migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
        assert "-> 0" in migrated.stdout
        with psycopg.connect(url) as conn:
            assert conn.execute(
                "SELECT count(*) FROM hubspot_sync.hubspot_bookings").fetchone() == (0,)
            version = conn.execute("SELECT version_num FROM mockbook.alembic_version").fetchone()
        assert version == (head(),)
    finally:
        stopped = run("down", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stdout
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3)


@pytest.mark.parametrize(("url", "code"), [
    ("garbage", 2),
    ("postgresql://postgres@127.0.0.1:notaport/x", 2),
    # nobody listening: the server is down, try again later (EX_TEMPFAIL)
    ("postgresql://postgres@127.0.0.1:1/nowhere", 75),
])
def test_bad_database_url_is_one_line_and_exit_2(url: str, code: int) -> None:
    result = run("migrate", env={"DATABASE_URL": url})
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mockbook: ")
    assert "DATABASE_URL" in lines[0]


def test_up_refuses_when_database_url_is_set(database_url: str) -> None:
    result = run("up", env={"DATABASE_URL": database_url})
    assert result.returncode == 2
    assert "DATABASE_URL is set" in result.stderr


def test_migrate_sql_prints_the_migration_sql() -> None:
    result = run("migrate", "--sql")
    assert result.returncode == 0, result.stderr
    assert 'CREATE TABLE "hubspot_sync"."hubspot_bookings"' in result.stdout
    assert "CREATE INDEX CONCURRENTLY" in result.stdout


def test_migrate_at_head_changes_nothing(database_url: str) -> None:
    """At head `migrate` says so (not "0011 -> 0011")."""
    result = run("migrate", env={"DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f": already at head ({head()}), nothing to do")
    assert " -> " not in result.stdout
    result = run("--json", "migrate", env={"DATABASE_URL": database_url})
    assert json.loads(result.stdout) | {"database": ""} == {
        "database": "", "from": head(), "to": head(), "changed": False}


def test_version() -> None:
    from glue import __version__

    for flag in ("--version", "-V"):
        result = run(flag)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"mockbook {__version__} (migrations head {head()})\n"


def test_unknown_revision_is_a_clear_error(make_database) -> None:
    url = make_database("unknown_rev")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA mockbook")
        conn.execute("CREATE TABLE mockbook.alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO mockbook.alembic_version VALUES ('9999_from_the_future')")
    result = run("migrate", env={"DATABASE_URL": url})
    assert result.returncode == 2
    assert "9999_from_the_future" in result.stderr
    assert "Traceback" not in result.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('hubspot_sync.hubspot_bookings')").fetchone() == (
            None,)
