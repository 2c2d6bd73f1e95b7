"""Lock order contact booking

Revision ID: 0014_lock_order_contact_booking
Revises: 0013_raise_error_stable

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/functions/admin_create_booking.sql
  changed  db/functions/apply_pulled_bookings.sql
  changed  db/functions/apply_pulled_contacts.sql
  changed  db/functions/apply_pulled_exams.sql
  changed  db/functions/cancel_booking.sql
  changed  db/functions/cancel_booking_atomic.sql
  changed  db/functions/cancel_bookings.sql
  changed  db/functions/cancel_locked_booking.sql
  changed  db/functions/complete_sync_batch.sql
  changed  db/functions/create_booking.sql
  changed  db/functions/create_booking_atomic.sql
  new      db/functions/lock_booking.sql
  changed  db/functions/lock_contact.sql
  changed  db/functions/lock_exam.sql
  changed  db/functions/mark_attendance.sql
  changed  db/functions/rebook.sql
  new      db/functions/release_seat.sql
  changed  db/functions/requeue_for_push.sql
  changed  db/functions/requeue_records.sql
  new      db/functions/take_seat.sql
  changed  db/triggers/outbox.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0014_lock_order_contact_booking'
down_revision = '0013_raise_error_stable'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
