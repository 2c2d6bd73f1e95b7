"""WL- booking codes reserved

Revision ID: 0020_wl_booking_codes_reserved
Revises: 0019_waitlist_in_hubspot

Frozen by `mockbook db revision` from these db/ changes:
  changed  db/functions/insert_booking.sql
"""

from alembic import op

from glue.frozen import apply

revision = '0020_wl_booking_codes_reserved'
down_revision = '0019_waitlist_in_hubspot'
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply(op, __file__, "upgrade")


def downgrade() -> None:
    apply(op, __file__, "downgrade")
