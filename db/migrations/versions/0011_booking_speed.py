"""Booking speed

Revision ID: 0011_booking_speed
Revises: 0010_pull_fixes

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/functions/check_exam_for_student.sql
  changed  db/functions/create_booking.sql
  changed  db/functions/pick_credit.sql
  changed  db/triggers/audit.sql
  changed  db/triggers/touch_updated_at.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0011_booking_speed'
down_revision = '0010_pull_fixes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
