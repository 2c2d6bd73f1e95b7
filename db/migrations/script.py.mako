"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}

The SQL this revision runs is frozen beside it in ${up_revision}/upgrade and
${up_revision}/downgrade: the one revision of its release
(db/migrations/releases.json), into which `mockbook db revision` folds db/ until the release
is cut. How its files run is decided in one place for every revision,
db/migrations/steps.py (docs/dba.md, "How a revision runs"): in file-name order, in one
transaction with the version stamp, after a lock step that takes the tables they lock in the
lock order of docs/rpc.md; a `-- frozen: <file> sha256:<hex>` line runs that earlier frozen
file.
"""

from alembic import context

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    context.config.attributes["mockbook.steps"].run(revision, "upgrade")


def downgrade() -> None:
    context.config.attributes["mockbook.steps"].run(revision, "downgrade")
