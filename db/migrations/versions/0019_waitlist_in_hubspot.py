"""waitlist in hubspot

Revision ID: 0019_waitlist_in_hubspot
Revises: 0018_legacy_attending_location

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/schema/16_sync_queue.sql
  changed  db/schema/21_waitlist_entries.sql
  changed  db/functions/apply_pulled_bookings.sql
  changed  db/functions/complete_sync_batch.sql
  changed  db/functions/offer_free_seats.sql
  changed  db/functions/process_waitlist.sql
  changed  db/functions/push_state.sql
  changed  db/functions/requeue_for_push.sql
  new      db/triggers/waitlist_outbox.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0019_waitlist_in_hubspot'
down_revision = '0018_legacy_attending_location'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
