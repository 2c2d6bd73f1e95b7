"""Booking core

Revision ID: 0006_booking_core
Revises: 0005_ledger_outbox_security

Frozen by `mockbook db revision` from these db/ changes:
  new      db/functions/adjust_credits.sql
  new      db/functions/admin_create_booking.sql
  new      db/functions/apply_credit_delta.sql
  new      db/functions/booking_by_ref.sql
  new      db/functions/booking_fingerprint.sql
  new      db/functions/booking_result.sql
  new      db/functions/business_today.sql
  new      db/functions/cancel_booking.sql
  new      db/functions/cancel_booking_atomic.sql
  new      db/functions/cancel_bookings.sql
  new      db/functions/cancel_locked_booking.sql
  new      db/functions/check_exam_for_student.sql
  new      db/functions/check_idempotency_key.sql
  new      db/functions/check_text_arg.sql
  new      db/functions/claim_idempotency_key.sql
  new      db/functions/contact_id_of_booking.sql
  new      db/functions/create_booking.sql
  new      db/functions/create_booking_atomic.sql
  new      db/functions/credit_balance.sql
  new      db/functions/credit_field_of_token.sql
  new      db/functions/credit_rules.sql
  new      db/functions/exam_unbookable_reason.sql
  new      db/functions/find_contact.sql
  new      db/functions/find_exam.sql
  new      db/functions/get_booking.sql
  new      db/functions/get_contact_credits.sql
  new      db/functions/get_credit_summary.sql
  new      db/functions/increment_exam_bookings.sql
  new      db/functions/insert_booking.sql
  new      db/functions/list_available_exams.sql
  new      db/functions/list_contact_bookings.sql
  new      db/functions/lock_contact.sql
  new      db/functions/lock_exam.sql
  new      db/functions/mark_attendance.sql
  new      db/functions/new_booking_code.sql
  new      db/functions/new_booking_row.sql
  new      db/functions/pick_credit.sql
  new      db/functions/raise_error.sql
  new      db/functions/rebook.sql
  new      db/functions/set_exam_capacity.sql
  new      db/functions/validate_booking_args.sql
  new      db/triggers/audit.sql
  new      db/triggers/require_booking_code.sql
  new      db/triggers/touch_updated_at.sql
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0006_booking_core'
down_revision = '0005_ledger_outbox_security'
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
