"""Alembic, driven from Python: the glue's `migrate`, the tests and the demo all come here."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import redirect_stdout

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from glue.db.source import ALEMBIC_INI


def alembic_config(url: str | None = None, *, quiet: bool = True) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    cfg.attributes["quiet"] = quiet
    if url:
        cfg.attributes["url"] = url
    return cfg


def steps(current: str | None, target: str = "head") -> list[str]:
    """The steps an upgrade from ``current`` (None: an empty database) to ``target`` runs, in
    order, each named ``<revision>: <frozen file>`` (db/migrations/steps.py: a frozen file, or
    one statement of a released revision's ``*.nontx.sql`` file), for a progress display.
    Empty when there is nothing to run."""
    from glue.db.adoption import migrations_module

    script = ScriptDirectory.from_config(alembic_config())
    try:
        pending = [r for r in script.iterate_revisions(target, current or "base") if r]
    except (RevisionError, CommandError):  # not an upgrade: Alembic's own message says why
        return []
    plan = migrations_module("steps").plan
    return [step.name for rev in reversed(pending) for step in plan(rev.revision, "upgrade")]


def upgrade(
    url: str,
    target: str = "head",
    *,
    sql: bool = False,
    progress: Callable[[], None] | None = None,
    adoption: dict | None = None,
    waited: dict | None = None,
    migration: dict | None = None,
) -> str:
    """Upgrade the database at `url`; with sql=True return the SQL instead of running it.
    ``progress``: called after each statement group (:func:`steps`) has run. ``adoption``: when
    the upgrade adopts a production database, filled with ``attempts`` (the one that committed),
    ``locked_s`` (how long its tables were locked: the old apps' longest wait) and
    ``timeouts_exceeded`` (the API roles whose statement timeout that wait outlasted).
    ``waited``: filled with ``from`` and ``to`` (the revisions) when another migration of the
    database ran while this one waited for it and moved the database meanwhile. ``migration``:
    for an upgrade or downgrade that is not the adoption, filled with ``attempts`` (the one that
    went through), ``locked_s`` (the longest a revision held its tables, from its lock step to
    its commit) and ``requested_s`` (that and the lock step's wait). A refusal of
    the runner (nothing of what it refused changed) is raised as SystemExit whose ``exit_code``,
    ``hint``, ``message``, ``detail`` and ``state`` say it (db/migrations/refusals.py)."""
    cfg = alembic_config(url)
    if not sql:
        if progress is not None:
            cfg.attributes["progress"] = progress
        if adoption is not None:
            cfg.attributes["adoption"] = adoption
        if waited is not None:
            cfg.attributes["waited"] = waited
        if migration is not None:
            cfg.attributes["migration"] = migration
        command.upgrade(cfg, target)
        return ""
    buffer = io.StringIO()
    cfg.output_buffer = buffer
    with redirect_stdout(buffer):
        command.upgrade(cfg, target, sql=True)
    return buffer.getvalue()


def downgrade(url: str, target: str) -> None:
    command.downgrade(alembic_config(url), target)


def stamp(url: str, target: str) -> None:
    command.stamp(alembic_config(url), target)


def head() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"expected one migration head, found {heads}")
    return heads[0]


def revisions() -> list[str]:
    """Revision ids from base to head."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def current(url: str) -> str | None:
    """The revision the database at `url` is at (None: not under Alembic yet)."""
    from glue.db.connection import connect

    with connect(url) as conn:
        row = conn.execute("SELECT to_regclass('mockbook.alembic_version') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return None
        version = conn.execute("SELECT version_num FROM mockbook.alembic_version").fetchone()
    return version[0] if version else None
