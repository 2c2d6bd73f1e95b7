"""Dual-id: hubspot_id nullable on contacts and bookings, audit log

Revision ID: 0002_dual_id
Revises: 0001_baseline
Create Date: 2026-11-22

The SQL this revision runs is frozen beside it in 0002_dual_id/upgrade and 0002_dual_id/downgrade.
"""

from alembic import op

from glue.frozen import apply

revision = '0002_dual_id'
down_revision = '0001_baseline'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
