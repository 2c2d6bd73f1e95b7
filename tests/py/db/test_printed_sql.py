"""The printed SQL is the SQL that runs: `alembic upgrade ... --sql` and `mockbook migrate --sql`
applied with `psql -v ON_ERROR_STOP=1` give exactly the `pg_dump -s` of the online upgrade, from
an empty database and from the last release's revision. Each `%` is printed as it runs (a
`format('No booking %s.', ...)` printed as `%%s` once stopped psql, and the functions created
before that point would have said a literal `%s`), and `mockbook migrate --sql` on a database at a
release prints from that release's revision, not from an empty database."""

from __future__ import annotations

import difflib
import subprocess
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from test_adopt_round_trip import schema_dump

from glue.cli import cli
from glue.db import migrations

MakeDatabase = Callable[[str], str]


def released() -> str:
    """The revision of the newest cut release (db/migrations/releases.json)."""
    from glue.db import revision

    return [r["revision"] for r in revision.load_releases() if r["date"]][-1]


def psql(url: str, script: str) -> None:
    done = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
                          input=script, capture_output=True, text=True, check=False,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def same_dump(printed: str, online: str) -> None:
    a, b = schema_dump(printed), schema_dump(online)
    assert a == b, "\n".join(list(difflib.unified_diff(a, b, "psql", "online", lineterm=""))[:80])


def test_the_sql_printed_from_empty_builds_the_online_schema(
        fresh_database: MakeDatabase) -> None:
    printed, online = fresh_database("printed_empty"), fresh_database("online_empty")
    script = migrations.upgrade(printed, "head", sql=True)
    assert "%%s" not in script
    psql(printed, script)
    migrations.upgrade(online, "head")
    same_dump(printed, online)


@pytest.mark.parametrize("how", ["alembic", "mockbook"])
def test_the_sql_printed_from_the_last_release_upgrades_it(
        fresh_database: MakeDatabase, how: str) -> None:
    printed, online = fresh_database("printed_release"), fresh_database("online_release")
    for url in (printed, online):
        migrations.upgrade(url, released())
    if how == "alembic":   # the form docs/dba.md gives for an upgrade from a release
        script = migrations.upgrade(printed, f"{released()}:head", sql=True)
    else:                  # reads the revision the configured database is at
        done = CliRunner().invoke(cli, ["migrate", "--sql"], env={"DATABASE_URL": printed})
        assert done.exit_code == 0, done.output
        script = done.output
    assert f"Running upgrade {released()} -> " in script
    assert "CREATE TABLE hubspot_sync.hubspot_bookings" not in script   # not from empty
    psql(printed, script)
    assert migrations.current(printed) == migrations.head()
    migrations.upgrade(online, "head")
    same_dump(printed, online)
    done = CliRunner().invoke(cli, ["migrate", "--sql"], env={"DATABASE_URL": printed})
    assert done.exit_code == 0 and done.output.startswith("-- already at"), done.output
