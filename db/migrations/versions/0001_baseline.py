"""Baseline: the production hubspot_sync read-cache schema

Revision ID: 0001_baseline
Revises: None
Create Date: 2026-11-22

The SQL this revision runs is frozen beside it in 0001_baseline/upgrade and 0001_baseline/downgrade.
"""

from alembic import op

from glue.frozen import apply

revision = '0001_baseline'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
