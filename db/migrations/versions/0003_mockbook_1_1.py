"""mockbook 1.1

Revision ID: 0003_mockbook_1_1
Revises: 0002_mockbook_1_0

The SQL this revision runs is frozen beside it in 0003_mockbook_1_1/upgrade and
0003_mockbook_1_1/downgrade: the one revision of its release
(db/migrations/releases.json), into which `mockbook db revision` folds db/ until the release
is cut. How its files run is decided in one place for every revision,
db/migrations/steps.py (docs/dba.md, "How a revision runs"): in file-name order, in one
transaction with the version stamp, after a lock step that takes the tables they lock in the
lock order of docs/rpc.md; a `-- frozen: <file> sha256:<hex>` line runs that earlier frozen
file.
"""

from alembic import context

revision = '0003_mockbook_1_1'
down_revision = '0002_mockbook_1_0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    context.config.attributes["mockbook.steps"].run(revision, "upgrade")


def downgrade() -> None:
    context.config.attributes["mockbook.steps"].run(revision, "downgrade")
