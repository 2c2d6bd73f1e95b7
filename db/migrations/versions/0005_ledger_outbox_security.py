"""Credit ledger, outbox, dead letters; RLS and privileges

Revision ID: 0005_ledger_outbox_security
Revises: 0004_constraints
Create Date: 2026-11-22

The SQL this revision runs is frozen beside it in
0005_ledger_outbox_security/upgrade and 0005_ledger_outbox_security/downgrade.
"""

from alembic import op

from glue.frozen import apply

revision = '0005_ledger_outbox_security'
down_revision = '0004_constraints'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
