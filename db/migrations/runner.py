"""One migration of a database at a time, and the command's destination. What runs for each
step of a revision is steps.py's. Loaded by env.py beside it, without importing mockbook."""

from __future__ import annotations

import contextlib
import sys

import sqlalchemy as sa
from alembic import context

config = context.config


def target() -> object:
    """The command's destination revision (None: base, or a command that moves none)."""
    try:
        return context.get_revision_argument()
    except KeyError:
        return None


def stamps() -> bool:
    """The command is `alembic stamp`: it writes the version table only, runs no revision."""
    fn = context.get_context().opts.get("fn")
    return getattr(fn, "__name__", "") == "do_stamp"


def moves() -> bool:
    """The command moves revisions (upgrade, downgrade, base included); current and check give
    Alembic no destination."""
    try:
        context.get_revision_argument()
    except KeyError:
        return False
    return True


# Two migrations of one database never run at once: the second waits for the first (a session
# advisory lock, this key), then goes on from where the first left the database.
MIGRATE_LOCK = 0x6D6F636B626F6F6B  # "mockbook"


@contextlib.contextmanager
def one_migrate(connection: sa.Connection, lock_timeout: str):
    """Wait for another migration of this database to end (a session advisory lock), for a
    command that moves revisions; yields the database's heads after the wait. A migration that
    waited and found the database moved says so: ``config.attributes["waited"]`` (a dict a
    caller embedding Alembic passed: filled with ``from`` and ``to``), else stderr."""
    if not moves():
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
