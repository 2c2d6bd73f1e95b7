"""Alembic, driven from Python: the glue's `migrate`, the tests and the demo all come here."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from glue.db.source import ALEMBIC_INI


def alembic_config(url: str | None = None, *, quiet: bool = True) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    cfg.attributes["quiet"] = quiet
    if url:
        cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, target: str = "head", *, sql: bool = False) -> str:
    """Upgrade the database at `url`; with sql=True return the SQL instead of running it."""
    cfg = alembic_config(url)
    if not sql:
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
