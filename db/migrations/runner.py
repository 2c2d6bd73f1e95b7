"""How env.py runs the revisions' frozen files (each as frozen, or as replaced.py pins its
replacement; the adoption's and the rollback's *.nontx.sql statements inside their one
transaction; an interrupted index build's invalid index dropped before it is built again; the
progress callback), and one migration of a database at a time. Loaded by
env.py beside it, without importing mockbook."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import context

config = context.config


def _load_replaced():
    spec = importlib.util.spec_from_file_location(
        "mockbook_migrations_replaced", Path(__file__).with_name("replaced.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


replaced = _load_replaced()


def target() -> object:
    """The command's destination revision; None for a command that moves none (current,
    check: Alembic gives no destination then)."""
    try:
        return context.get_revision_argument()
    except KeyError:
        return None


# CONCURRENTLY of an index statement, the only form a *.nontx.sql file may take it in
_CONCURRENT_INDEX = re.compile(r"\b((?:CREATE\s+(?:UNIQUE\s+)?|DROP\s+|RE)INDEX)\s+CONCURRENTLY\b",
                               re.IGNORECASE)


# An index build of a *.nontx.sql file that IF NOT EXISTS would skip: its name and schema
_INDEX_IF_NOT_EXISTS = re.compile(
    r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?IF\s+NOT\s+EXISTS\s+(\w+)\s+ON\s+"
    r"(?:ONLY\s+)?(\w+)\.", re.IGNORECASE)
_INVALID_INDEX_SQL = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_catalog.pg_index AS i
JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND NOT i.indisvalid
"""


def _invalid_index_drops(sql: str) -> list[str]:
    """An index build that was interrupted (a crash, a cancel, a lock timeout of CREATE INDEX
    CONCURRENTLY) leaves its index behind INVALID: never used, still written, and skipped by
    the same statement's IF NOT EXISTS when the revision runs again. Before such a statement,
    an invalid index of its name is dropped (CONCURRENTLY where the statement builds so), so
    that a revision interrupted in its index steps is finished by running it again."""
    match = _INDEX_IF_NOT_EXISTS.match(sql.strip())
    if match is None or context.get_context().as_sql:
        return []
    found = context.get_bind().connection.driver_connection.execute(
        _INVALID_INDEX_SQL, (match[2], match[1])).fetchone()
    if found is None:
        return []
    concurrently = " CONCURRENTLY" if re.search(r"\bCONCURRENTLY\b", sql, re.I) else ""
    return [f"DROP INDEX{concurrently} {found[0]}"]


@contextlib.contextmanager
def running(one_transaction: bool = False):
    """How the revisions' runners run their frozen files here: each statement group they pass
    to their ``_execute`` as frozen, or as replaced.py pins its replacement; with
    ``one_transaction`` (the adoption and its rollback) the statements of a *.nontx.sql file
    (inside the runner's autocommit_block) run inside the transaction, their index statement
    without CONCURRENTLY; after each group, ``config.attributes["progress"]`` (glue.db.
    migrations.upgrade's) is called."""
    ctx = context.get_context()
    progress = config.attributes.get("progress")
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
            sql = replaced.substitute(sql)
            for statement in (*_invalid_index_drops(sql), sql):
                _original(_CONCURRENT_INDEX.sub(r"\1", statement) if nontx[0] else statement)
            if progress is not None and not context.get_context().as_sql:
                progress()

        module._execute = execute
        patched.append((module, original))
    if one_transaction:
        ctx.autocommit_block = in_transaction
    try:
        yield
    finally:
        if one_transaction:
            del ctx.autocommit_block
        for module, original in patched:
            module._execute = original


# Two migrations of one database never run at once: the second waits for the first (a session
# advisory lock, this key), then goes on from where the first left the database.
MIGRATE_LOCK = 0x6D6F636B626F6F6B  # "mockbook"


@contextlib.contextmanager
def one_migrate(connection: sa.Connection, lock_timeout: str):
    """Wait for another migration of this database to end (a session advisory lock), for a
    command that moves revisions; yields the database's heads after the wait. A migration that
    waited and found the database moved says so: ``config.attributes["waited"]`` (a dict a
    caller embedding Alembic passed: filled with ``from`` and ``to``), else stderr."""
    if target() is None:
        yield context.get_context().get_current_heads()
        return
    before = context.get_context().get_current_heads()
    connection.rollback()
    waited = not connection.exec_driver_sql(f"SELECT pg_try_advisory_lock({MIGRATE_LOCK})").scalar()
    if waited:
        with contextlib.suppress(OSError, ValueError):
            print("mockbook: another migration of this database is running; waiting for it",
                  file=sys.stderr)
        connection.exec_driver_sql("SET lock_timeout = 0")
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATE_LOCK})")
        connection.exec_driver_sql(lock_timeout)
    connection.commit()
    try:
        heads = context.get_context().get_current_heads()
        if waited and heads != before:
            moved = {"from": list(before), "to": list(heads)}
            outcome = config.attributes.get("waited")
            if isinstance(outcome, dict):
                outcome.update(moved)
            else:
                with contextlib.suppress(OSError, ValueError):
                    print(f"mockbook: the other migration moved the database from "
                          f"{', '.join(before) or 'nothing'} to {', '.join(heads)} while this "
                          "one waited; going on from there", file=sys.stderr)
        yield heads
    finally:
        connection.rollback()
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATE_LOCK})")
        connection.commit()
