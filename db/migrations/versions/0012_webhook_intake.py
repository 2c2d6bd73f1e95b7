"""webhook intake

Revision ID: 0012_webhook_intake
Revises: 0011_booking_speed

Frozen by `mockbook db revision` from these db/ changes:
  new      db/schema/19_webhook_events.sql
  new      db/functions/claim_webhook_events.sql
  new      db/functions/finish_webhook_events.sql
  new      db/functions/store_webhook_events.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0012_webhook_intake'
down_revision = '0011_booking_speed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
