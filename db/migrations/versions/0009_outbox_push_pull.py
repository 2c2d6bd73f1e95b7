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

from alembic import op

from glue.frozen import apply

revision = '0009_outbox_push_pull'
down_revision = '0008_booking_fixes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
