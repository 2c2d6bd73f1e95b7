"""A production database adopted straight to a release after 1.0: the adoption's revision
(0002_mockbook_1_0) and every later one (1.1's 0003_mockbook_1_1 and its indexes) in ONE
transaction, the window the DBA is told covering both; a crash anywhere on the way leaves
production as it was and the next `mockbook migrate` adopts. `-1` from the later revision steps
back one revision, not to the production schema. An index a build outside mockbook left invalid
is built again by the revision. (The rollback
from head, its first check before any lock: tests/py/db/test_adopt_round_trip.py.)"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable

import psycopg
import pytest
from click.testing import CliRunner
from test_adopt_legacy_data import SEED
from test_adopt_production import BASELINE, load_dump
from waiting import wait_until

from glue.cli import cli
from glue.db import migrations
from glue.db.source import DB_DIR

MakeDatabase = Callable[[str], str]
ADOPTION = "0002_mockbook_1_0"
VERSIONS = DB_DIR / "migrations" / "versions"
# the revisions after the adoption's, the indexes they build, and their steps that build them
LATER = migrations.revisions()[migrations.revisions().index(ADOPTION) + 1:]
_BUILDS = r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?IF\s+NOT\s+EXISTS\s+(\w+)"
LATER_INDEXES = sorted(
    name for rev in LATER for path in (VERSIONS / rev / "upgrade").glob("*.sql")
    for name in re.findall(_BUILDS, path.read_text(encoding="utf-8")))


def index_step(name: str) -> bool:
    """A step (``<revision>: <file>``) of a later revision that builds one of LATER_INDEXES."""
    rev, file = name.split(": ")
    return rev in LATER and bool(re.search(_BUILDS, next(
        (VERSIONS / rev / "upgrade").glob(f"{file}.sql")).read_text(encoding="utf-8")))
INDEXES = """
SELECT c.relname::text, pg_get_indexdef(i.indexrelid), i.indisvalid
FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relname = ANY (%s) ORDER BY 1
"""
# killed by itself after statement group number `at` of the upgrade to head
KILLED = """
import os, signal, sys
from glue.db import migrations
from glue.db.source import DB_DIR
url, at = sys.argv[1], int(sys.argv[2])
done = [0]
def progress():
    done[0] += 1
    if done[0] == at:
        os.kill(os.getpid(), signal.SIGKILL)
migrations.upgrade(url, "head", progress=progress)
"""


def indexes(url: str) -> list[tuple[str, str, bool]]:
    with psycopg.connect(url) as conn:
        return conn.execute(INDEXES, (LATER_INDEXES,)).fetchall()


def fresh_indexes(fresh_database: MakeDatabase) -> list[tuple[str, str, bool]]:
    url = fresh_database("later_fresh")
    migrations.upgrade(url, "head")
    found = indexes(url)
    assert [name for name, _, valid in found if valid] == LATER_INDEXES
    return found


def production(fresh_database: MakeDatabase, name: str) -> str:
    url = fresh_database(name)
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, BASELINE)
    return url


def test_the_adoption_runs_the_later_revisions_in_its_one_transaction(
        fresh_database: MakeDatabase) -> None:
    """While the later revision's index steps run, another session still sees the database at
    0001_baseline and the production tables locked by the adoption: one transaction, one
    window (the one reported), the index statements inside it without CONCURRENTLY."""
    assert LATER and LATER_INDEXES
    fresh = fresh_indexes(fresh_database)
    url = production(fresh_database, "later_one_transaction")
    names = migrations.steps(BASELINE, "head")
    seen: list[tuple] = []
    with psycopg.connect(url, autocommit=True) as watch:
        def progress() -> None:
            name = names[len(seen)]
            if index_step(name):
                seen.append(watch.execute(
                    "SELECT (SELECT version_num FROM mockbook.alembic_version),"
                    " (SELECT count(*) FROM pg_locks WHERE relation ="
                    "  'hubspot_sync.hubspot_bookings'::regclass AND mode = 'AccessExclusiveLock'"
                    "  AND granted AND pid <> pg_backend_pid())").fetchone())
            else:
                seen.append(())
        adoption: dict = {}
        migrations.upgrade(url, "head", progress=progress, adoption=adoption)
    during = {s for s in seen if s}
    assert during == {(BASELINE, 1)}, during
    assert len(seen) == len(names)
    assert adoption["attempts"] == 1 and adoption["locked_s"] > 0, adoption
    assert migrations.current(url) == migrations.head()
    assert indexes(url) == fresh


def test_a_crash_in_the_later_revision_leaves_production_and_the_rerun_adopts(
        fresh_database: MakeDatabase) -> None:
    """SIGKILL of `migrate` in the later revision's first file, then in its index steps: each
    time the database is still production at 0001_baseline (no half of the adoption kept, no
    invalid index), production's function still books; then `mockbook migrate` adopts to head
    with every index valid, as a fresh install has them."""
    fresh = fresh_indexes(fresh_database)
    url = production(fresh_database, "later_killed")
    names = migrations.steps(BASELINE, "head")
    first_later = next(i for i, name in enumerate(names) if name.startswith(f"{LATER[0]}: "))
    last_index = max(i for i, name in enumerate(names) if index_step(name))
    env = {k: v for k, v in os.environ.items() if k != "PGOPTIONS"}
    for at, student in ((first_later + 1, "OLD4"), (last_index + 1, "OLD6")):
        done = subprocess.run([sys.executable, "-c", KILLED, url, str(at)], env=env,
                              capture_output=True, text=True, check=False, timeout=300)
        assert done.returncode == -signal.SIGKILL, done.stderr
        with psycopg.connect(url, autocommit=True) as conn:
            wait_until("the killed migrate's session gone", lambda: conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()").fetchone() == (0,))
            assert conn.execute("SELECT version_num FROM mockbook.alembic_version"
                                ).fetchone() == (BASELINE,)
            assert conn.execute("SELECT to_regnamespace('mockbook_internal'),"
                                " to_regclass('hubspot_sync.adoption_report'),"
                                " to_regtype('hubspot_sync.mock_set_enum') IS NOT NULL"
                                ).fetchone() == (None, None, True)
            assert conn.execute(INDEXES, (LATER_INDEXES,)).fetchall() == []
            conn.execute("SET search_path = hubspot_sync, public")   # as PostgREST calls it
            booked = conn.execute(
                "SELECT hubspot_sync.create_booking_atomic(%s, %s, %s, '51000000002', 'Other',"
                " 'Clinical Skills Token', 'mississauga', 'right', %s, 'cs_credits', 2)",
                (f"Clinical Skills-{student}-killed", student, f"{student.lower()}@example.com",
                 f"killed-{at}")).fetchone()[0]
            assert booked["success"] is True, booked
    done = CliRunner().invoke(cli, ["migrate"], env={"DATABASE_URL": url})
    assert done.exit_code == 0, done.output
    assert f"0001_baseline -> {migrations.head()}" in done.output and "were locked for" in (
        done.output)
    assert indexes(url) == fresh
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regnamespace('mockbook_adoption_calls')").fetchone() == (
            None,)


def test_the_dry_run_at_the_adoptions_revision_has_nothing_to_check(
        fresh_database: MakeDatabase) -> None:
    """`migrate --check` at the baseline names the revisions its one transaction runs; adopted
    by 1.0 (at 0002_mockbook_1_0, a later revision to come), it has nothing to check and says
    so instead of counting checks it did not run."""
    url = production(fresh_database, "later_dry_run")
    env = {"DATABASE_URL": url}
    done = CliRunner().invoke(cli, ["migrate", "--check"], env=env)
    assert done.exit_code == 0, done.output
    assert (f"from revision 0001_baseline to {migrations.head()} "
            f"({', '.join([ADOPTION, *LATER])}: one transaction)") in done.output, done.output
    migrations.upgrade(url, ADOPTION)
    done = CliRunner().invoke(cli, ["migrate", "--check"], env=env)
    assert done.exit_code == 0, done.output
    assert done.output.strip().endswith(
        f"revision {ADOPTION} (adopted: the dry run is the adoption's; `mockbook migrate` runs "
        f"{', '.join(LATER)}, one transaction each): nothing to check"), done.output
    assert "checks in" not in done.output
    done = CliRunner().invoke(cli, ["migrate", "--check", "--json"], env=env)
    said = json.loads(done.output.strip().splitlines()[-1])
    assert (said["nothing_to_check"], said["findings"]) == ("adopted", []), said


def test_minus_one_from_a_later_revision_steps_back_one_revision(
        fresh_database: MakeDatabase) -> None:
    """`alembic downgrade -1` at a later revision undoes that revision only (its indexes
    dropped, one transaction per revision): the database stays adopted, at the revision below,
    and a view someone built on a column only the rollback converts stays untouched."""
    url = fresh_database("later_minus_one")
    migrations.upgrade(url, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE VIEW public.credits_seen AS"
                     " SELECT created_at FROM hubspot_sync.hubspot_contact_credits")
    migrations.downgrade(url, "-1")
    below = migrations.revisions()[-2]
    assert migrations.current(url) == below
    if below == ADOPTION:
        assert indexes(url) == []
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('public.credits_seen') IS NOT NULL").fetchone()[0]


def test_an_index_build_cut_short_is_built_again(fresh_database: MakeDatabase) -> None:
    """A CREATE INDEX CONCURRENTLY of a later revision's index that failed part-way (a DBA
    building it ahead of the upgrade to keep the window short) leaves an INVALID index of its
    name; the revision builds it (IF NOT EXISTS alone would keep the invalid one): every index as
    a fresh install has it."""
    name = "idx_adoption_report_record"
    assert name in LATER_INDEXES
    fresh = fresh_indexes(fresh_database)
    url = fresh_database("later_invalid_index")
    migrations.upgrade(url, ADOPTION)
    with psycopg.connect(url, autocommit=True) as conn:
        # a build cut short: one of the same name that fails part-way (two equal keys)
        conn.execute("INSERT INTO hubspot_sync.adoption_report (revision, action, object,"
                     " record_id) VALUES ('x', 'x', 'x', 'twice'), ('x', 'x', 'x', 'twice')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON"
                         " hubspot_sync.adoption_report (record_id) WHERE record_id IS NOT NULL")
    assert [(n, valid) for n, _, valid in indexes(url)] == [(name, False)]
    migrations.upgrade(url, "head")
    assert indexes(url) == fresh
