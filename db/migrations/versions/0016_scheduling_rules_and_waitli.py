"""scheduling rules and waitlist

Revision ID: 0016_scheduling_rules_and_waitli
Revises: 0015_two_way_sync

Frozen by `mockbook db revision` from these db/ changes:
  new      db/schema/20_booking_rules.sql
  new      db/schema/21_waitlist_entries.sql
  new      db/functions/accept_offer.sql
  new      db/functions/booking_rule.sql
  changed  db/functions/cancel_locked_booking.sql
  new      db/functions/check_booking_rules.sql
  changed  db/functions/check_exam_for_student.sql
  new      db/functions/complete_past_bookings.sql
  changed  db/functions/create_booking.sql
  new      db/functions/exam_starts_at.sql
  new      db/functions/join_waitlist.sql
  new      db/functions/leave_waitlist.sql
  changed  db/functions/list_available_exams.sql
  changed  db/functions/list_contact_bookings.sql
  new      db/functions/offer_free_seats.sql
  new      db/functions/process_waitlist.sql
  changed  db/functions/raise_error.sql
  changed  db/functions/release_seat.sql
  new      db/functions/set_booking_rule.sql
  changed  db/functions/set_exam_capacity.sql
  changed  db/functions/take_seat.sql
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0016_scheduling_rules_and_waitli'
down_revision = '0015_two_way_sync'
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
