"""two-way sync

Revision ID: 0015_two_way_sync
Revises: 0014_lock_order_contact_booking

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/functions/apply_pulled_contacts.sql
  changed  db/functions/apply_pulled_exams.sql
  new      db/functions/apply_pulled_prerequisites.sql
  changed  db/functions/complete_sync_batch.sql
  new      db/functions/local_change_pending.sql
  new      db/functions/overwritten_credit_change.sql
  new      db/functions/relink_contact.sql
  new      db/functions/set_exam_prerequisites.sql
  new      db/functions/update_exam_prerequisites.sql
  new      db/functions/write_exam_prerequisites.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0015_two_way_sync'
down_revision = '0014_lock_order_contact_booking'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
