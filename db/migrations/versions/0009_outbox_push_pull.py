"""Outbox push pull

Revision ID: 0009_outbox_push_pull
Revises: 0008_booking_fixes

Frozen by `mockbook db revision` from these db/ changes:
  new      db/schema/18_contact_credit_sync.sql
  new      db/functions/activate_due_exams.sql
  new      db/functions/apply_pulled_bookings.sql
  new      db/functions/apply_pulled_contacts.sql
  new      db/functions/apply_pulled_exams.sql
  new      db/functions/claim_audit_notes.sql
  new      db/functions/claim_sync_batch.sql
  new      db/functions/complete_sync_batch.sql
  new      db/functions/fail_sync_rows.sql
  new      db/functions/get_sync_cursor.sql
  new      db/functions/list_dead_letters.sql
  new      db/functions/mark_audit_notes.sql
  new      db/functions/note_pull_outcome.sql
  new      db/functions/pull_recheck_ids.sql
  new      db/functions/pulled_date.sql
  new      db/functions/pulled_int.sql
  new      db/functions/pulled_text.sql
  new      db/functions/pulled_timestamp.sql
  new      db/functions/purge_sync_queue.sql
  new      db/functions/push_state.sql
  new      db/functions/reconcile_state.sql
  new      db/functions/record_credit_push.sql
  new      db/functions/record_sync_run.sql
  new      db/functions/requeue_for_push.sql
  new      db/functions/requeue_records.sql
  new      db/functions/resolve_dead_letters.sql
  new      db/functions/save_sync_cursor.sql
  new      db/functions/sync_queue_next_due.sql
  new      db/triggers/credit_push_claimed.sql
  new      db/triggers/credit_push_done.sql
  new      db/triggers/outbox.sql
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0009_outbox_push_pull'
down_revision = '0008_booking_fixes'
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
