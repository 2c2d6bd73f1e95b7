"""Test harness: one fresh database per run on the configured server, migrated to head.

Server: DATABASE_URL, else the PG* variables, else 127.0.0.1:5432 as postgres (SPEC §10).
The database is created by pytest-postgresql's DatabaseJanitor, migrated with Alembic (or, with
MOCKBOOK_SCHEMA_SOURCE=db, built from db/ directly: handy while writing a function that has no
revision yet), given pgTAP, plpgsql_check and the test-only `tests` schema, and dropped at the end.
pgTAP files (tests/sql/test_*.sql) run through pytest-pgtap on a connection to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from glue_role import ensure_glue_login, glue_url
from psycopg.conninfo import conninfo_to_dict
from pytest_postgresql.janitor import DatabaseJanitor

from glue import migrations
from glue.dbsource import apply_source

ROOT = Path(__file__).resolve().parent.parent
HELPERS = sorted((ROOT / "tests" / "sql" / "helpers").glob("*.sql"))


def server_params() -> dict[str, str]:
    """Connection parameters of the server the tests run on (no database name)."""
    if url := os.environ.get("DATABASE_URL"):
        params = {k: str(v) for k, v in conninfo_to_dict(url).items()}
    else:
        params = {
            "host": os.environ.get("PGHOST", "127.0.0.1"),
            "port": os.environ.get("PGPORT", "5432"),
            "user": os.environ.get("PGUSER", "postgres"),
        }
        if pw := os.environ.get("PGPASSWORD"):
            params["password"] = pw
    params.pop("dbname", None)
    params.setdefault("host", "127.0.0.1")
    params.setdefault("port", "5432")
    params.setdefault("user", "postgres")
    return params


def url_for(dbname: str) -> str:
    params = server_params()
    auth = params["user"] + (f":{params['password']}" if params.get("password") else "")
    return f"postgresql://{auth}@{params['host']}:{params['port']}/{dbname}"


@pytest.fixture(scope="session")
def pg_params() -> dict[str, str]:
    return server_params()


@pytest.fixture(scope="session")
def make_database(pg_params: dict[str, str]) -> Iterator:
    """Factory of fresh, empty databases on the test server; all dropped at the end."""
    janitors: list[DatabaseJanitor] = []

    def make(name: str) -> str:
        dbname = f"mb_{name}_{os.getpid()}"
        janitor = DatabaseJanitor(
            user=pg_params["user"], host=pg_params["host"], port=pg_params["port"],
            dbname=dbname, password=pg_params.get("password"),
        )
        janitor.init()
        janitors.append(janitor)
        return url_for(dbname)

    yield make
    for janitor in reversed(janitors):
        janitor.drop()


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    """The run's database, migrated to head, with pgTAP, plpgsql_check and tests helpers."""
    url = make_database("test")
    if os.environ.get("MOCKBOOK_SCHEMA_SOURCE", "alembic") == "db":
        apply_source(url)
    else:
        migrations.upgrade(url, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap")
        if os.environ.get("MOCKBOOK_PG_COMPAT"):
            # the compatibility job (tests/compat/pg_compat.py) on another major: plpgsql_check
            # is not built for it, so the helpers that call it are created unvalidated and the
            # job runs only the files that never call them
            conn.execute("SET check_function_bodies = off")
        else:
            conn.execute("CREATE EXTENSION IF NOT EXISTS plpgsql_check")
        for helper in HELPERS:
            conn.execute(helper.read_text())
    ensure_glue_login(url)
    return url


@pytest.fixture(scope="session")
def glue_database_url(database_url: str) -> str:
    """The run's database as the glue's login role (a member of mockbook_glue), as the glue
    runs in production: not the owner, not a superuser."""
    return glue_url(database_url)


@pytest.fixture(scope="session")
def pgtap_connection(database_url: str) -> Iterator[psycopg.Connection]:
    """pytest-pgtap's connection, pointed at the run's database (never skipped: a missing
    server is an error)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection to the run's database for one test (autocommit)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn
