"""Constraints: checks, booking-code and duplicate-rule unique indexes

Revision ID: 0004_constraints
Revises: 0003_supabase_roles
Create Date: 2026-11-22

The SQL this revision runs is frozen beside it in
0004_constraints/upgrade and 0004_constraints/downgrade.
"""

from alembic import op

from glue.frozen import apply

revision = '0004_constraints'
down_revision = '0003_supabase_roles'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
