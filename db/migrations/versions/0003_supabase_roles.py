"""Supabase roles and auth.* helpers (created only when missing)

Revision ID: 0003_supabase_roles
Revises: 0002_dual_id
Create Date: 2026-11-22

The SQL this revision runs is frozen beside it in
0003_supabase_roles/upgrade and 0003_supabase_roles/downgrade.
"""

from alembic import op

from glue.frozen import apply

revision = '0003_supabase_roles'
down_revision = '0002_dual_id'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
