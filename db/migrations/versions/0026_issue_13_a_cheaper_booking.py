"""issue 13: a cheaper booking

Revision ID: 0026_issue_13_a_cheaper_booking
Revises: 0025_accept_offer_shapes_its_res

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/schema/12_hubspot_bookings.sql
  changed  db/functions/book.sql
  changed  db/functions/booking_fingerprint.sql
  changed  db/functions/business_today.sql
  changed  db/functions/check_booking_rules.sql
  changed  db/functions/create_booking.sql
  changed  db/functions/credit_rules.sql
  changed  db/functions/exam_starts_at.sql
  changed  db/functions/exam_unbookable_reason.sql
  changed  db/functions/new_booking_code.sql
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0026_issue_13_a_cheaper_booking'
down_revision = '0025_accept_offer_shapes_its_res'
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
