"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}

The SQL this revision runs is frozen beside it in ${up_revision}/upgrade and
${up_revision}/downgrade: the one revision of its release
(db/migrations/releases.json), into which `mockbook db revision` folds db/ until the release
is cut.
"""

import hashlib
import re
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    _run("upgrade")


def downgrade() -> None:
    _run("downgrade")


# The runner lives in this file, not in the project's package: the revision runs exactly as it
# was committed (db/migrations/revisions.lock pins it), whatever the package becomes later.
# The SQL frozen beside it in <revision>/upgrade|downgrade/ runs in file-name order, in the
# revision's transaction; a *.nontx.sql file runs outside it (CREATE INDEX CONCURRENTLY,
# VALIDATE CONSTRAINT), one statement per `;` (no dollar quoting there). A line
# `-- frozen: versions/<revision>/upgrade/<file> sha256:<hex>` stands for that earlier frozen file
# (a changed function's previous copy, in a downgrade): read from there, checked against the
# hash and run in its place.
_REFERENCE = re.compile(r"^-- frozen: (\S+) sha256:([0-9a-f]{64})$", re.MULTILINE)


def _frozen(match: re.Match) -> str:
    data = (Path(__file__).parent.parent / match[1]).read_bytes()
    if hashlib.sha256(data).hexdigest() != match[2]:
        raise RuntimeError(f"{__file__}: {match[1]} is not the file this revision refers to")
    return data.decode("utf-8")


def _run(direction: str) -> None:
    files = sorted((Path(__file__).with_suffix("") / direction).glob("*.sql"))
    if not files:
        raise RuntimeError(f"{__file__}: no frozen SQL in {direction}/")
    for path in files:
        sql = _REFERENCE.sub(_frozen, path.read_text(encoding="utf-8"))
        if path.name.endswith(".nontx.sql"):
            lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
            with op.get_context().autocommit_block():
                for statement in "\n".join(lines).split(";"):
                    if statement.strip():
                        _execute(statement.strip())
        else:
            _execute(sql)


def _execute(sql: str) -> None:
    if op.get_context().as_sql:
        # --sql prints the SQL as frozen: every colon escaped, so text() sees no bind parameter
        op.execute(sa.text(sql.replace(":", "\\:")))
    else:
        # the driver runs a multi-statement script with the simple query protocol
        op.get_bind().connection.driver_connection.execute(sql)
