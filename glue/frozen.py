"""Frozen migration SQL: how a revision applies the SQL copied beside it.

Each revision `versions/<rev>.py` has a folder `versions/<rev>/` with `upgrade/` and `downgrade/`
holding the SQL frozen when the revision was made. Files run in name order, each in the
migration's transaction, except `*.nontx.sql` files: their statements (one per line group ending
in `;`, no dollar quoting) run outside a transaction, as `CREATE INDEX CONCURRENTLY` and
`VALIDATE CONSTRAINT` on a live table must. A revision never reads `db/` at upgrade time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa

NONTX_SUFFIX = ".nontx.sql"


def frozen_files(revision_file: str | Path, direction: str) -> list[Path]:
    """The frozen SQL files of one revision and direction, in the order they run."""
    folder = Path(revision_file).with_suffix("") / direction
    return sorted(folder.glob("*.sql"))


def split_plain_statements(sql: str) -> list[str]:
    """Split a .nontx.sql file into statements (no dollar quoting allowed there)."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def _as_text(sql: str) -> sa.TextClause:
    # Escape every colon so SQLAlchemy's text() sees no bind parameters (casts like ::jsonb,
    # 'HH24:MI' in strings); the rendered SQL is byte-for-byte the frozen file.
    return sa.text(re.sub(r":", r"\\:", sql))


def _execute(op: Any, sql: str) -> None:
    if op.get_context().as_sql:
        op.execute(_as_text(sql))
    else:
        # The raw driver connection runs a multi-statement script with the simple protocol.
        op.get_bind().connection.driver_connection.execute(sql)


def apply(op: Any, revision_file: str, direction: str) -> None:
    """Run the frozen SQL of `revision_file` for `direction` ('upgrade' or 'downgrade')."""
    files = frozen_files(revision_file, direction)
    if not files:
        raise RuntimeError(f"{revision_file}: no frozen SQL in {direction}/")
    for path in files:
        sql = path.read_text()
        if path.name.endswith(NONTX_SUFFIX):
            with op.get_context().autocommit_block():
                for statement in split_plain_statements(sql):
                    _execute(op, statement)
        else:
            _execute(op, sql)
