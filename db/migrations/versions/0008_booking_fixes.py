"""Booking fixes

Revision ID: 0008_booking_fixes
Revises: 0007_analytics_views

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/functions/adjust_credits.sql
  changed  db/functions/rebook.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0008_booking_fixes'
down_revision = '0007_analytics_views'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
