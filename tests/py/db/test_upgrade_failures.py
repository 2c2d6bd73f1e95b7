"""An upgrade from the last release that fails anywhere leaves the release exactly, says where the
database is, and the next `mockbook migrate` finishes it; the way back is exact from there.

A production copy (the dump, the old app's rows) adopted by the release, bookings made through
the release's functions; then its upgrade to head fails at each of its steps in turn, after the
step ran: a deadlock (40P01, raised by the server in the migration's transaction) at the odd
steps, a lock not granted (55P03: a lock the migration's session asks for with NOWAIT while
another session holds it) at the even ones, one attempt allowed. After every failure the
database is exactly the release (its catalog digest, and `pg_dump -s` at the end) and the
refusal names the revision rolled back and where the database is. Then failures on the first
three attempts with the retries on: the fourth goes through. Then the way back: to the release
and to the production schema (`pg_dump -s` of each, exactly), where the old admin app's own
writes (attendance = '', is_active = 'cancelled') work again.

A killed `mockbook migrate` (SIGKILL) and a server restarted under it (`pg_ctl restart -m
immediate`, a private server) end the same way: the revision is one transaction, so the server
keeps nothing of it, whichever step it was in (the failures at every step above show that no
step commits on its own); each is tried at the step after the tables' constraints changed and
at the last step, just before the commit, and the next `mockbook migrate` finishes it. Before,
the revision committed its first part and its CONCURRENTLY steps on the way, and every later
run stopped on `42710 constraint ... already exists`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import context
from click.testing import CliRunner
from test_adopt_legacy_data import SEED
from test_adopt_production import BASELINE, load_dump
from test_adopt_round_trip import SUPABASE_ROLES, schema_dump
from upgrade_load import fingerprint, releases

from glue.cli import cli
from glue.db import migrations
from glue.db.adoption import migrations_module

MakeDatabase = Callable[..., str]
RELEASE = releases()[-1]  # the last cut release: what a school upgrades from
steps_module = migrations_module("steps")
# the old admin app's own writes, which 1.x's constraints refuse and production's schema takes
OLD_APP_WRITES = ("UPDATE hubspot_sync.hubspot_bookings SET attendance = '' WHERE booking_id = %s",
                  "UPDATE hubspot_sync.hubspot_bookings SET is_active = 'cancelled'"
                  " WHERE booking_id = %s")


def released(url: str) -> tuple[list[str], list[str]]:
    """The production copy on Supabase (its roles and auth.*), adopted by the release, with
    bookings made through its functions; `pg_dump -s` of the production schema before, and of
    the release."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SUPABASE_ROLES.read_text())
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, BASELINE)
    before = schema_dump(url)
    migrations.upgrade(url, RELEASE)
    with psycopg.connect(url, autocommit=True) as conn:
        for student, exam in (("OLD4", "51000000002"), ("OLD5", "51000000002")):
            conn.execute("SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s,"
                         " p_mock_exam_id := %s, p_idempotency_key := %s,"
                         " p_dominant_hand := 'right')",
                         (student, f"{student.lower()}@example.com", exam, f"f-{student}"))
    return before, schema_dump(url)


def the_way_back(url: str, at_release: list[str], at_baseline: list[str]) -> None:
    """Down to the release and to the production schema, each exactly; the old app writes."""
    migrations.downgrade(url, RELEASE)
    assert schema_dump(url) == at_release
    migrations.downgrade(url, BASELINE)
    assert schema_dump(url) == at_baseline
    with psycopg.connect(url, autocommit=True) as conn:
        (code,) = conn.execute("SELECT booking_id FROM hubspot_sync.hubspot_bookings"
                               " WHERE booking_id IS NOT NULL LIMIT 1").fetchone()
        for write in OLD_APP_WRITES:
            assert conn.execute(write, (code,)).rowcount == 1


# a cheap stand-in for the catalog's digest, read around every attempt: per catalog, the rows
# in mockbook's schemas and their newest row version; any committed DDL there makes a newer one
# (or one row fewer)
CATALOG_VERSIONS = """
SELECT string_agg(format('%%s %%s %%s', t.name, t.n, t.newest), ', ' ORDER BY t.name)
FROM (SELECT 'class' AS name, count(*) AS n, max(xmin::text::bigint) AS newest
      FROM pg_catalog.pg_class WHERE relnamespace = ANY (%(ns)s::regnamespace[])
      UNION ALL SELECT 'proc', count(*), max(xmin::text::bigint)
      FROM pg_catalog.pg_proc WHERE pronamespace = ANY (%(ns)s::regnamespace[])
      UNION ALL SELECT 'constraint', count(*), max(xmin::text::bigint)
      FROM pg_catalog.pg_constraint WHERE connamespace = ANY (%(ns)s::regnamespace[])
      UNION ALL SELECT 'type', count(*), max(xmin::text::bigint)
      FROM pg_catalog.pg_type WHERE typnamespace = ANY (%(ns)s::regnamespace[])
      UNION ALL SELECT 'trigger', count(*), max(g.xmin::text::bigint)
      FROM pg_catalog.pg_trigger AS g JOIN pg_catalog.pg_class AS c ON c.oid = g.tgrelid
      WHERE c.relnamespace = ANY (%(ns)s::regnamespace[])
      UNION ALL SELECT 'version ' || version_num, 0, 0 FROM mockbook.alembic_version) AS t
"""
SCHEMAS = ["hubspot_sync", "mockbook_internal", "mockbook", "auth"]


class Failing:
    """A progress callback that fails attempt k of an upgrade after its step k, for every step
    in turn: a deadlock (the server raises 40P01 in the migration's transaction) after the odd
    steps, a lock not granted (55P03: the migration's session asks with NOWAIT for a table
    another session holds) after the even ones; then lets the last attempt through. At the
    first step of every attempt, a second session reads the catalog: it must be exactly the
    release's (nothing of an attempt that failed was kept)."""

    def __init__(self, url: str, steps: int) -> None:
        self.steps, self.attempt, self.done = steps, 1, 0
        self.watcher = psycopg.connect(url, autocommit=True)
        self.holder = psycopg.connect(url)   # a report holding a table 1.1 does not touch
        self.holder.execute("SELECT count(*) FROM hubspot_sync.sync_metadata").fetchone()
        self.release = self.catalog()
        self.changed: list[str] = []

    def catalog(self) -> str:
        return self.watcher.execute(CATALOG_VERSIONS, {"ns": SCHEMAS}).fetchone()[0]

    def __call__(self) -> None:
        self.done += 1
        if self.done == 1 and self.catalog() != self.release:
            self.changed.append(f"attempt {self.attempt}: the catalog changed")
        if self.done != self.attempt or self.attempt > self.steps:
            return
        self.attempt, self.done = self.attempt + 1, 0
        session = context.get_context().bind.connection.driver_connection
        if self.attempt % 2 == 0:   # the attempt that just failed was odd
            session.execute("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'deadlock_detected',"
                            " MESSAGE = 'deadlock detected'; END $$")
        session.execute("LOCK TABLE hubspot_sync.sync_metadata IN ACCESS EXCLUSIVE MODE NOWAIT")

    def close(self) -> None:
        self.watcher.close()
        self.holder.close()


def test_a_failure_at_any_step_leaves_the_release_and_the_next_migrate_finishes(
        fresh_database: MakeDatabase, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    url = fresh_database("upgrade_failures")
    at_baseline, at_release = released(url)
    steps = migrations.steps(RELEASE, "head")
    revision = steps[0].split(":")[0]
    assert len(steps) > 50, steps

    # one attempt: the refusal says which revision was rolled back and where the database is
    monkeypatch.setenv("MOCKBOOK_MIGRATE_ATTEMPTS", "1")
    failing = Failing(url, len(steps))
    failing.attempt = len(steps) // 2 | 1   # odd: a deadlock
    try:
        with pytest.raises(SystemExit) as stopped:
            migrations.upgrade(url, "head", progress=failing)
    finally:
        failing.close()
    assert (stopped.value.sqlstate, stopped.value.exit_code) == ("40P01", 75), stopped.value
    assert stopped.value.state == (
        f"{revision} was rolled back as a whole (one transaction): nothing of it was kept "
        f"(1 attempt); the database is at {RELEASE}"), stopped.value.state
    assert schema_dump(url) == at_release

    # every step in turn, one attempt each, then the one that goes through
    monkeypatch.setenv("MOCKBOOK_MIGRATE_ATTEMPTS", str(len(steps) + 1))
    monkeypatch.setenv("MOCKBOOK_MIGRATE_RETRY_WAIT", "0")
    failing = Failing(url, len(steps))
    took: dict = {}
    capsys.readouterr()
    try:
        migrations.upgrade(url, "head", progress=failing, migration=took)
    finally:
        failing.close()
    assert failing.changed == [], failing.changed
    retried = [line for line in capsys.readouterr().err.splitlines() if "rolled back" in line]
    assert [line.split(" rolled back (")[1][:5] for line in retried] == [
        "40P01" if k % 2 else "55P03" for k in range(1, len(steps) + 1)], retried
    assert took["attempts"] == len(steps) + 1, took
    assert migrations.current(url) == migrations.head()
    the_way_back(url, at_release, at_baseline)


def test_every_step_of_the_unreleased_revision_can_run_twice(
        fresh_database: MakeDatabase) -> None:
    """Each step of the revisions after the last release, both ways, run twice in a row in
    their transaction, gives what running it once gives (so a step an earlier run applied, by
    hand or by a mockbook that committed part of a revision, is finished, not refused with
    `42710 ... already exists`). A new table's file, copied from db/schema/ (`schema_` in its
    name), runs once: it creates its table in the revision's one transaction, which no earlier
    run can have kept."""
    twice, once = fresh_database("steps_twice"), fresh_database("steps_once")
    for url in (twice, once):
        migrations.upgrade(url, RELEASE)
    at_release = fingerprint(twice)
    later = migrations.revisions()[migrations.revisions().index(RELEASE) + 1:]
    assert later
    for direction, revs in (("upgrade", later), ("downgrade", list(reversed(later)))):
        with psycopg.connect(twice) as conn:
            for rev in revs:
                for step in steps_module.plan(rev, direction):
                    conn.execute(step.sql)
                    if not re.match(r"\d{4}_\d{3}_schema_", step.file.rsplit("/", 1)[1]):
                        conn.execute(step.sql)
            conn.execute("UPDATE mockbook.alembic_version SET version_num = %s",
                         (later[-1] if direction == "upgrade" else RELEASE,))
        if direction == "upgrade":
            migrations.upgrade(once, "head")
            assert fingerprint(twice) == fingerprint(once)
        else:
            assert fingerprint(twice) == at_release


# --- a private server: killed, restarted ----------------------------------------------------

KILLED = """
import os, signal, sys
from glue.db import migrations
url, at = sys.argv[1], int(sys.argv[2])
done = [0]
def progress():
    done[0] += 1
    if done[0] == at:
        os.kill(os.getpid(), signal.SIGKILL)
migrations.upgrade(url, "head", progress=progress)
"""


def _port() -> int:
    for port in range(15400, 15500):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 15400-15499")


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture
def private_server(pg_params: dict[str, str]) -> Iterator[tuple[str, Callable[[], None]]]:
    """A cluster of this test's own (the test server's major): its URL and a restart that
    stops it as a crash does (immediate: no checkpoint, every session cut)."""
    with psycopg.connect(**pg_params, dbname="postgres") as conn:
        major = conn.info.server_version // 10000
    bindir = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (bindir / "initdb").exists():
        pytest.fail(f"initdb of PostgreSQL {major} not found in {bindir}")
    root = Path(tempfile.mkdtemp(prefix="mockbook-restart-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _port()
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                 "--auth=trust", "--no-sync", "-E", "UTF8"]),
                   check=True, capture_output=True)
    ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
           f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"]

    def restart() -> None:
        subprocess.run(_as_postgres([*ctl, "-m", "immediate", "restart"]), check=True,
                       capture_output=True)

    subprocess.run(_as_postgres([*ctl, "start"]), check=True, capture_output=True)
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE upgrade_killed")
        yield f"postgresql://postgres@127.0.0.1:{port}/upgrade_killed", restart
    finally:
        subprocess.run(_as_postgres([*ctl, "-m", "immediate", "stop"]), capture_output=True,
                       check=False)
        shutil.rmtree(root, ignore_errors=True)


def test_a_killed_migrate_or_a_restarted_server_leaves_the_release(
        private_server: tuple[str, Callable[[], None]]) -> None:
    url, restart = private_server
    at_baseline, at_release = released(url)
    digest = fingerprint(url)
    steps = migrations.steps(RELEASE, "head")
    revision = steps[0].split(":")[0]
    schema_step = next(i for i, name in enumerate(steps, 1) if "schema" in name)
    env = {k: v for k, v in os.environ.items() if k != "PGOPTIONS"}
    for at in (schema_step + 1, len(steps)):
        done = subprocess.run([sys.executable, "-c", KILLED, url, str(at)], env=env,
                              capture_output=True, text=True, check=False, timeout=300)
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert (migrations.current(url), fingerprint(url)) == (RELEASE, digest), at

        def crash(at: int = at) -> None:
            crash.done = getattr(crash, "done", 0) + 1
            if crash.done == at:
                restart()

        with pytest.raises(SystemExit) as stopped:
            migrations.upgrade(url, "head", progress=crash)
        assert (stopped.value.sqlstate, stopped.value.exit_code) == ("08006", 75)
        assert stopped.value.hint.startswith("The connection to the server was lost")
        # where the database is: read again once the server is back, or (not reachable yet)
        # what this run committed before it
        assert stopped.value.state.startswith(
            f"the connection was lost: {revision} was rolled back as a whole (one transaction):"
            " nothing of it was kept"), stopped.value
        assert stopped.value.state.endswith((f"the database is at {RELEASE}",
                                             "committed before it stay: none. Run it again to "
                                             "finish")), stopped.value
        assert (migrations.current(url), fingerprint(url)) == (RELEASE, digest), at
    assert schema_dump(url) == at_release
    done = CliRunner().invoke(cli, ["migrate"], env={"DATABASE_URL": url})
    assert done.exit_code == 0 and f"{RELEASE} -> {migrations.head()}" in done.output, (
        done.output)
    the_way_back(url, at_release, at_baseline)
