"""rules in one place

Revision ID: 0023_rules_in_one_place
Revises: 0022_idempotent_writes_and_the_j

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/functions/adjust_credits.sql
  changed  db/functions/admin_create_booking.sql
  changed  db/functions/apply_credit_delta.sql
  changed  db/functions/apply_pulled_bookings.sql
  changed  db/functions/apply_pulled_contacts.sql
  changed  db/functions/apply_pulled_exams.sql
  new      db/functions/book.sql
  new      db/functions/booking_json.sql
  changed  db/functions/booking_result.sql
  changed  db/functions/cancel_booking_atomic.sql
  new      db/functions/check_credit_field.sql
  new      db/functions/check_invariants.sql
  changed  db/functions/create_booking.sql
  changed  db/functions/create_booking_atomic.sql
  changed  db/functions/credit_balance.sql
  new      db/functions/credit_balances.sql
  new      db/functions/credit_field_names.sql
  new      db/functions/credit_fields.sql
  changed  db/functions/pick_credit.sql
  new      db/functions/pull_record_failed.sql
  changed  db/functions/rebook.sql
  changed  db/triggers/credit_push_claimed.sql
  changed  db/triggers/credit_push_done.sql
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0023_rules_in_one_place'
down_revision = '0022_idempotent_writes_and_the_j'
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
