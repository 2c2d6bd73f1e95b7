"""Alembic environment for mockbook: raw SQL revisions, no SQLAlchemy models.

The version table lives in its own schema (`mockbook.alembic_version`) so that it is neither in
the API schema `hubspot_sync` nor in `public`, where Supabase grants anon access by default.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
import time
from logging.config import fileConfig
from pathlib import Path

import sqlalchemy as sa
from alembic import context

VERSION_SCHEMA = "mockbook"
# Every revision also sets it; this covers the version table itself.
LOCK_TIMEOUT = "SET lock_timeout = '5s'"

config = context.config
if config.config_file_name and not config.attributes.get("quiet"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.attributes.get("url")
        or os.environ.get("DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("mockbook: no database: set DATABASE_URL or pass -x url=postgresql://...")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# The revision that adopts a production database (README, "Adopting a production database").
ADOPTION = "0002_mockbook_1_0"


def _load_dependents():
    spec = importlib.util.spec_from_file_location(
        "mockbook_adoption_dependents", Path(__file__).with_name("dependents.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dependents = _load_dependents()


def _upgrades_through_adoption() -> bool:
    """The command upgrades to the adoption's revision or past it."""
    target = context.get_revision_argument()
    if not isinstance(target, str) or target.startswith("-"):
        return False
    try:
        return any(r is not None and r.revision == ADOPTION
                   for r in context.script.iterate_revisions(target, "0001_baseline"))
    except Exception:  # a downgrade or a relative target: not an upgrade through the adoption
        return False


def _configure(**kwargs: object) -> None:
    context.configure(
        transaction_per_migration=True,
        version_table_schema=VERSION_SCHEMA,
        **kwargs,
    )


def run_offline() -> None:
    _configure(url=database_url(), literal_binds=True, dialect_name="postgresql")
    context.execute(LOCK_TIMEOUT)
    context.execute(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}")
    context.run_migrations()
    context.execute("NOTIFY pgrst, 'reload schema'")


def run_online() -> None:
    # pytest-alembic (and callers embedding Alembic) pass an Engine or a Connection here.
    given = config.attributes.get("connection")
    if isinstance(given, sa.Connection):
        _run_with(given)
        return
    engine = given or sa.create_engine(database_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        _run_with(connection)
    if given is None:
        engine.dispose()


# Adoption (a production database stamped 0001_baseline, upgraded through the adoption's
# revision): all or nothing, in ONE transaction, so the old apps calling production's functions
# meanwhile never see an intermediate state (the upgrade renames the enum production's
# create_booking_atomic uses) and a failure leaves production exactly as it was.
# The tables the revisions rewrite are locked up front, in the lock order of docs/rpc.md
# (contacts, bookings, exams), then the other tables they change, each wait bounded by
# MOCKBOOK_ADOPTION_LOCK_TIMEOUT (default 5s); on a lock timeout (55P03) or a deadlock with a
# live call (40P01) the whole transaction is rolled back and tried again, at most
# MOCKBOOK_ADOPTION_ATTEMPTS times (default 5), 1 s apart, doubling. The frozen revisions run a
# *.nontx.sql file outside their transaction (CREATE INDEX CONCURRENTLY): in this one-transaction
# run those statements run inside it, their index statements without CONCURRENTLY (the tables
# are locked anyway); every other statement, and every function body, runs as frozen. An
# already adopted database is upgraded as before, one transaction per revision, CONCURRENTLY
# kept.
ADOPTION_LOCKS = (
    "hubspot_sync.hubspot_contact_credits", "hubspot_sync.hubspot_bookings",
    "hubspot_sync.hubspot_mock_exams", "hubspot_sync.sync_metadata",
)
RETRIED = ("55P03", "40P01")


def _adopting(heads: tuple[str, ...]) -> bool:
    return heads == ("0001_baseline",) and _upgrades_through_adoption()


# CONCURRENTLY of an index statement, the only form a *.nontx.sql file may take it in
_CONCURRENT_INDEX = re.compile(r"\b((?:CREATE\s+(?:UNIQUE\s+)?|DROP\s+|RE)INDEX)\s+CONCURRENTLY\b",
                               re.IGNORECASE)


@contextlib.contextmanager
def _in_one_transaction():
    """The frozen runners' non-transactional steps, run inside the adoption's transaction: only
    the statements of a *.nontx.sql file (inside the runner's autocommit_block) lose the
    CONCURRENTLY of their index statement; every other SQL, function bodies included, runs
    exactly as frozen."""
    ctx = context.get_context()
    nontx = [False]

    @contextlib.contextmanager
    def in_transaction():
        nontx[0] = True
        try:
            yield
        finally:
            nontx[0] = False

    patched = []
    for rev in context.script.walk_revisions():
        module = rev.module
        original = getattr(module, "_execute", None)
        if original is None:
            continue

        def execute(sql: str, _original=original) -> None:
            _original(_CONCURRENT_INDEX.sub(r"\1", sql) if nontx[0] else sql)

        module._execute = execute
        patched.append((module, original))
    ctx.autocommit_block = in_transaction
    try:
        yield
    finally:
        del ctx.autocommit_block
        for module, original in patched:
            module._execute = original


def _adopt(connection: sa.Connection, heads: tuple[str, ...]) -> None:
    timeout = os.environ.get("MOCKBOOK_ADOPTION_LOCK_TIMEOUT", "5s")
    attempts = max(1, int(os.environ.get("MOCKBOOK_ADOPTION_ATTEMPTS", "5")))
    context.configure(connection=connection, transaction_per_migration=False,
                      version_table_schema=VERSION_SCHEMA)
    for attempt in range(1, attempts + 1):
        try:
            with _in_one_transaction():
                connection.exec_driver_sql(f"SET lock_timeout = {_literal(timeout)}")
                for table in ADOPTION_LOCKS:
                    connection.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                # objects outside mockbook that the DDL below would fail on: named, nothing done
                blocking = list(connection.exec_driver_sql(dependents.DEPENDENTS_SQL))
                if blocking:
                    connection.rollback()
                    raise SystemExit(
                        "mockbook: the adoption would fail on objects built on what it changes; "
                        f"nothing was changed, the database is still at {heads[0]}. Drop or "
                        "change these first (re-create them after, on the new types):\n"
                        + "\n".join(f"  {dependent} uses {target}, which revision {rev} "
                                     f"{change}" for rev, dependent, target, change in blocking))
                context.run_migrations()
                connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
                connection.commit()
            return
        except sa.exc.DBAPIError as error:
            connection.rollback()
            state = getattr(getattr(error, "orig", None), "sqlstate", None)
            if state in RETRIED and attempt < attempts:
                print(f"mockbook: adoption attempt {attempt} of {attempts} rolled back "
                      f"({state}: a lock held by a live call); trying again", file=sys.stderr)
                time.sleep(2 ** (attempt - 1))
                continue
            print(f"mockbook: the adoption was rolled back as a whole: nothing was changed, the "
                  f"database is still at {heads[0]} ({attempt} attempt(s))", file=sys.stderr)
            raise


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextlib.contextmanager
def _reporting():
    """``config.attributes["progress"]`` (glue.db.migrations.upgrade's), called after each
    statement group a revision's runner passes to its ``_execute``."""
    progress = config.attributes.get("progress")
    if progress is None:
        yield
        return
    patched = []
    for rev in context.script.walk_revisions():
        module = rev.module
        original = getattr(module, "_execute", None)
        if original is None:
            continue

        def execute(sql: str, _original=original) -> None:
            _original(sql)
            if not context.get_context().as_sql:
                progress()

        module._execute = execute
        patched.append((module, original))
    try:
        yield
    finally:
        for module, original in patched:
            module._execute = original


def _run_with(connection: sa.Connection) -> None:
    connection.exec_driver_sql(LOCK_TIMEOUT)
    connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}")
    connection.exec_driver_sql(f"REVOKE ALL ON SCHEMA {VERSION_SCHEMA} FROM PUBLIC")
    connection.commit()
    _configure(connection=connection)
    heads = context.get_context().get_current_heads()
    with _reporting():
        if _adopting(heads):
            _adopt(connection, heads)
            return
        context.run_migrations()
    connection.exec_driver_sql("NOTIFY pgrst, 'reload schema'")
    connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
