"""one audit outbox trigger

Revision ID: 0017_one_audit_outbox_trigger
Revises: 0016_scheduling_rules_and_waitli

Frozen by `mockbook db revision` from these db/ changes:
  new      db/triggers/row_change.sql
  deleted  db/triggers/audit.sql
  deleted  db/triggers/outbox.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0017_one_audit_outbox_trigger'
down_revision = '0016_scheduling_rules_and_waitli'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
