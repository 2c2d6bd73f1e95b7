"""test paths in comments

Revision ID: 0046_test_paths_in_comments
Revises: 0045_contracts_in_comments

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/functions/internal/apply_pulled_contacts.sql
  changed  db/functions/internal/apply_pulled_exams.sql
  changed  db/functions/internal/claim_sync_batch.sql
  changed  db/functions/internal/credit_fields.sql
  changed  db/triggers/credit_push_claimed.sql
  changed  db/triggers/credit_push_done.sql
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0046_test_paths_in_comments'
down_revision = '0045_contracts_in_comments'
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
# VALIDATE CONSTRAINT), one statement per `;` (no dollar quoting there).
def _run(direction: str) -> None:
    files = sorted((Path(__file__).with_suffix("") / direction).glob("*.sql"))
    if not files:
        raise RuntimeError(f"{__file__}: no frozen SQL in {direction}/")
    for path in files:
        sql = path.read_text(encoding="utf-8")
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
