"""pytest-alembic's checks of the revision history: one head, base → head upgrades, every revision
downgrades and upgrades again one step at a time, and a full head → base → head round trip.

pytest-alembic 0.13 cannot collect its built-in tests under pytest 9, so pyproject points its
automatic collection at a path that does not exist and the built-in test functions are imported
here as ordinary tests. Each test gets its own fresh, empty database.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import psycopg
import pytest
import sqlalchemy as sa
from pytest_alembic.runner import MigrationContext
from pytest_alembic.tests import (  # noqa: F401  (collected by pytest as tests of this module)
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from glue.db import migrations

_databases = itertools.count()


@pytest.fixture
def alembic_url(make_database: Callable[[str], str]) -> str:
    return make_database(f"alembic{next(_databases)}")


@pytest.fixture
def alembic_config() -> dict[str, object]:
    """The project's alembic.ini (script location db/migrations, version table in `mockbook`)."""
    return {"file": str(migrations.ALEMBIC_INI)}


@pytest.fixture
def alembic_engine(alembic_url: str) -> Iterator[sa.Connection]:
    """pytest-alembic hands this object to env.py as config.attributes['connection'].

    env.py runs the migrations on it directly when it is a Connection (that is what the current
    env.py supports; an Engine needs env.py to connect first)."""
    url = alembic_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _version(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('mockbook.alembic_version')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM mockbook.alembic_version").fetchone()
        return row[0] if row else None


def _tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'hubspot_sync'::regnamespace"
            " AND relkind = 'r' ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def test_round_trip_head_base_head(alembic_runner: MigrationContext, alembic_url: str) -> None:
    """upgrade head → downgrade base → upgrade head, checking where each step lands."""
    head = migrations.head()
    alembic_runner.migrate_up_to("heads", return_current=False)
    assert _version(alembic_url) == head
    built = _tables(alembic_url)
    assert "hubspot_bookings" in built and "credit_ledger" in built

    alembic_runner.migrate_down_to("base", return_current=False)
    assert _version(alembic_url) is None
    assert _tables(alembic_url) == []

    alembic_runner.migrate_up_to("heads", return_current=False)
    assert _version(alembic_url) == head
    assert _tables(alembic_url) == built


def test_history_is_the_documented_chain(alembic_runner: MigrationContext) -> None:
    """The first two revisions are the ones the README and the migration rules name (DBAs stamp
    the first)."""
    revisions = alembic_runner.history.revisions
    assert revisions[0] == "base"
    assert revisions[1:3] == ["0001_baseline", "0002_mockbook_1_0"]
    assert revisions[-1] == "heads"
    assert revisions[1:-1] == migrations.revisions()
