"""Alembic, driven from Python: the glue's `migrate`, the tests and the demo all come here."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

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
    """The statement groups an upgrade from ``current`` (None: an empty database) to ``target``
    runs, in order, each named ``<revision>: <frozen file>``: what the revisions' runners pass
    to their ``_execute`` one call at a time (a frozen file whole, a ``*.nontx.sql`` file one
    statement at a time), for a progress display. Empty when there is nothing to run."""
    script = ScriptDirectory.from_config(alembic_config())
    try:
        pending = [r for r in script.iterate_revisions(target, current or "base") if r]
    except (RevisionError, CommandError):  # not an upgrade: Alembic's own message says why
        return []
    names: list[str] = []
    for rev in reversed(pending):
        folder = Path(rev.path).with_suffix("") / "upgrade"
        for path in sorted(folder.glob("*.sql")):
            name = f"{rev.revision}: {path.name.removesuffix('.sql')}"
            if not path.name.endswith(".nontx.sql"):
                names.append(name)
                continue
            lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("--")]
            names += [name for statement in "\n".join(lines).split(";") if statement.strip()]
    return names


def upgrade(
    url: str,
    target: str = "head",
    *,
    sql: bool = False,
    progress: Callable[[], None] | None = None,
    adoption: dict | None = None,
    waited: dict | None = None,
) -> str:
    """Upgrade the database at `url`; with sql=True return the SQL instead of running it.
    ``progress``: called after each statement group (:func:`steps`) has run. ``adoption``: when
    the upgrade adopts a production database, filled with ``attempts`` (the one that committed),
    ``locked_s`` (how long its tables were locked: the old apps' longest wait) and
    ``timeouts_exceeded`` (the API roles whose statement timeout that wait outlasted).
    ``waited``: filled with ``from`` and ``to`` (the revisions) when another migration of the
    database ran while this one waited for it and moved the database meanwhile. A refusal of
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
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('mockbook.alembic_version') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return None
        version = conn.execute("SELECT version_num FROM mockbook.alembic_version").fetchone()
    return version[0] if version else None
