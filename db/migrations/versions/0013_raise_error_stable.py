"""raise_error STABLE

Revision ID: 0013_raise_error_stable
Revises: 0012_webhook_intake

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/functions/raise_error.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0013_raise_error_stable'
down_revision = '0012_webhook_intake'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
