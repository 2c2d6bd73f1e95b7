"""Analytics views

Revision ID: 0007_analytics_views
Revises: 0006_booking_core

Frozen by `mockbook db revision` from these db/ changes:
  new      db/functions/refresh_analytics.sql
  new      db/views/booking_analytics.sql
  new      db/views/credit_usage.sql
  new      db/views/daily_booking_trends.sql
  new      db/views/exam_utilization.sql
  new      db/views/sync_health.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0007_analytics_views'
down_revision = '0006_booking_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
