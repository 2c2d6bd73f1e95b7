"""The harness's databases of a run that died (tests/conftest.py, ``_drop_run_databases``): the next
run on the host drops them before it builds its template, whatever state the run's end left them
in. A drop cut short (its run killed, or the server restarted after a backend crashed) leaves the
database "invalid" (PostgreSQL 15.4 and later): it can only be dropped, and ALTER DATABASE on it
is FATAL. Once such a template was left, every later run failed at its first test."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import conftest
import psycopg
import pytest
from psycopg import sql

DEAD_PID = 4_194_304  # above Linux's largest pid (pid_max): no process has it


@pytest.fixture
def admin() -> Iterator[psycopg.Connection]:
    with conftest._admin(conftest.server_params()) as conn:
        yield conn


def _dead_runs_database(admin: psycopg.Connection, prefix: str, *, template: bool,
                        invalid: bool) -> str:
    """A database as a dead run on this host leaves it: its comment names the run."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    comment = conftest.COMMENT.format(host=socket.gethostname(), pid=DEAD_PID, start=1)
    admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
        sql.Identifier(name), sql.Literal(comment)))
    if template:
        admin.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name)))
    if invalid:
        _invalidate(admin, name)
    return name


def _invalidate(admin: psycopg.Connection, name: str) -> None:
    """What a drop cut short leaves: the harness made the database an ordinary one before its
    drop, and PostgreSQL marked it invalid."""
    admin.execute("UPDATE pg_database SET datistemplate = false, datconnlimit = -2"
                  " WHERE datname = %s", (name,))


def _exists(admin: psycopg.Connection, name: str) -> bool:
    found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


@pytest.mark.parametrize(("prefix", "template", "invalid"), [
    ("mb_tmpl_", True, False),   # a run killed before its end
    ("mb_tmpl_", True, True),    # its drop cut short
    ("mb_copy_", False, True),
    ("mb_copy_", False, False),
], ids=["template", "half-dropped template", "half-dropped copy", "copy"])
def test_a_dead_runs_database_is_dropped_by_the_next_run(
        admin: psycopg.Connection, prefix: str, template: bool, invalid: bool) -> None:
    name = _dead_runs_database(admin, prefix, template=template, invalid=invalid)
    try:
        conftest._drop_run_databases(conftest.server_params(), mine=False)
        assert not _exists(admin, name)
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def test_a_template_another_run_is_dropping_meanwhile_is_dropped(
        admin: psycopg.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read as a valid template, invalid by the time it is altered (another run on the host began
    dropping it, and that drop was cut short): the ALTER ends the connection, and the drop is
    finished on a new one."""
    name = _dead_runs_database(admin, "mb_tmpl_", template=True, invalid=False)
    start_time = conftest._start_time

    def meanwhile(pid: int) -> int | None:
        if pid == DEAD_PID and _exists(admin, name):  # the other run's drop, as ours reads it
            _invalidate(admin, name)
        return start_time(pid)

    monkeypatch.setattr(conftest, "_start_time", meanwhile)
    try:
        conftest._drop_run_databases(conftest.server_params(), mine=False)
        assert not _exists(admin, name)
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
