"""legacy attending location

Revision ID: 0018_legacy_attending_location
Revises: 0017_one_audit_outbox_trigger

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/functions/create_booking_atomic.sql
  new      db/functions/legacy_attending_location.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0018_legacy_attending_location'
down_revision = '0017_one_audit_outbox_trigger'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
