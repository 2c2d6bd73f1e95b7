"""Alembic's own commands, as a DBA runs them from the repository root, in every state a
production database goes through: stamped at the baseline, adopted by 1.0 with a later release
to come, adopted at head, rolled back, and at a revision this mockbook does not know (a newer
release migrated it). None crashes: each says what Alembic says of that state, one message and
no traceback; `mockbook migrate --check` and `mockbook migrate` at an unknown revision say so
and exit 2, changing nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import psycopg
from click.testing import CliRunner
from test_adopt_legacy_data import SEED
from test_adopt_production import BASELINE, load_dump

from glue.cli import cli
from glue.db import migrations

MakeDatabase = Callable[[str], str]
FUTURE = "9999_from_the_future"


def alembic(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alembic", "-c", str(migrations.ALEMBIC_INI),
                           "-x", f"url={url}", *args], capture_output=True, text=True,
                          check=False, timeout=300)


def commands(url: str) -> dict[str, subprocess.CompletedProcess]:
    found = {name: alembic(url, *args) for name, args in (
        ("current", ("current",)), ("check", ("check",)), ("history", ("history",)),
        ("heads", ("heads",)), ("upgrade --sql", ("upgrade", "head", "--sql")))}
    for name, done in found.items():
        assert "Traceback" not in done.stderr + done.stdout, (name, done.stderr)
    # never moved by any of them
    for name in ("history", "heads", "upgrade --sql"):
        assert found[name].returncode == 0, (name, found[name].stderr)
    chain = migrations.revisions()   # every revision's step, newest first, the head marked
    steps = reversed(list(zip(["<base>", *chain[:-1]], chain, strict=True)))
    lines = [line.split(",")[0] for line in found["history"].stdout.splitlines()]
    assert lines == [f"{down} -> {up}" + (" (head)" if up == migrations.head() else "")
                     for down, up in steps], lines
    assert found["heads"].stdout.strip() == f"{migrations.head()} (head)"
    assert "CREATE TABLE" in found["upgrade --sql"].stdout
    assert found["upgrade --sql"].stdout.rstrip().endswith("NOTIFY pgrst, 'reload schema';")
    return found


def said(done: subprocess.CompletedProcess) -> str:
    """The command's answer: its last line on stdout (Alembic logs on stderr)."""
    return done.stdout.strip().splitlines()[-1]


def test_every_command_in_every_state(fresh_database: MakeDatabase) -> None:
    url = fresh_database("alembic_states")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, BASELINE)

    found = commands(url)   # stamped: the production schema at the baseline
    assert said(found["current"]) == BASELINE and found["current"].returncode == 0
    assert said(found["check"]) == "FAILED: Target database is not up to date."

    migrations.upgrade(url, "0002_mockbook_1_0")   # adopted by 1.0, a later release to come
    found = commands(url)
    assert said(found["current"]) == "0002_mockbook_1_0" and found["current"].returncode == 0
    assert said(found["check"]) == "FAILED: Target database is not up to date."

    migrations.upgrade(url, "head")   # adopted, at head
    found = commands(url)
    assert said(found["current"]) == f"{migrations.head()} (head)"
    assert said(found["check"]) == "No new upgrade operations detected."
    assert found["check"].returncode == 0

    migrations.downgrade(url, BASELINE)   # rolled back
    found = commands(url)
    assert said(found["current"]) == BASELINE and found["current"].returncode == 0
    assert said(found["check"]) == "FAILED: Target database is not up to date."

    with psycopg.connect(url, autocommit=True) as conn:   # migrated by a newer mockbook
        conn.execute("UPDATE mockbook.alembic_version SET version_num = %s", (FUTURE,))
    found = commands(url)
    for name in ("current", "check"):
        assert found[name].returncode != 0
        assert said(found[name]) == f"FAILED: Can't locate revision identified by '{FUTURE}'"

    for args in (["migrate", "--check"], ["migrate", "--check", "--json"], ["migrate"]):
        done = CliRunner().invoke(cli, args, env={"DATABASE_URL": url})
        assert done.exit_code == 2, (args, done.output)
        assert f"is at revision {FUTURE}, which this mockbook" in done.output, done.output
        assert "0 changes" not in done.output and "Can't locate" not in done.output
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version_num FROM mockbook.alembic_version").fetchone() == (
            FUTURE,)
