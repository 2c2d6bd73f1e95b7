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

from alembic import op

from glue.frozen import apply

revision = '0016_scheduling_rules_and_waitli'
down_revision = '0015_two_way_sync'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
