"""Pull fixes

Revision ID: 0010_pull_fixes
Revises: 0009_outbox_push_pull

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/functions/claim_audit_notes.sql
  changed  db/functions/pulled_timestamp.sql
  changed  db/functions/record_credit_push.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0010_pull_fixes'
down_revision = '0009_outbox_push_pull'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
