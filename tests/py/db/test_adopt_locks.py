"""The adoption waits for its locks a bounded time and tries again; it never queues behind a long
transaction.

A waiting ACCESS EXCLUSIVE request queues every later caller of the table behind it: an upgrade
that waited on a long report for its locks would stop every call of the old app for as long as
the report ran. db/migrations/env.py takes the tables' locks in one statement whose wait is
bounded by MOCKBOOK_ADOPTION_LOCK_TIMEOUT, rolls back and tries again. Here a long reader holds
the bookings table: meanwhile the old app's readers and bookings go on, the upgrade keeps
trying, and it completes once the reader is done.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import psycopg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from test_adopt_live import SEED
from test_adopt_production import load_dump
from waiting import wait_until

from glue.cli import cli
from glue.db import migrations

MakeDatabase = Callable[[str], str]


class Lines:
    """A stderr that keeps what is written to it (the upgrade reports each attempt there)."""

    def __init__(self) -> None:
        self.text = ""
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def count(self, what: str) -> int:
        with self.lock:
            return self.text.count(what)


def book_as_the_app(url: str, n: int) -> dict:
    """One booking through production's create_booking_atomic, as PostgREST calls it; the
    caller's own wait for a lock is bounded far above the upgrade's."""
    with psycopg.connect(url) as conn:
        conn.execute("SET lock_timeout = '30s'")
        conn.execute("SELECT set_config('role', 'service_role', true),"
                     " set_config('search_path', 'hubspot_sync, public', true)")
        return conn.execute(
            "SELECT hubspot_sync.create_booking_atomic(%s, %s, %s, '41000000001', 'Live',"
            " 'Clinical Skills Token', 'mississauga', 'right', %s, 'cs_credits', 2)",
            (f"Clinical Skills-LIVE{n}-x", f"LIVE{n}", f"live{n}@example.com", f"locks-{n}"),
        ).fetchone()[0]


@pytest.mark.slow
def test_the_upgrade_retries_its_locks_instead_of_queueing(
        fresh_database: MakeDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    url = fresh_database("adopt_locks")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, "0001_baseline")
    monkeypatch.setenv("MOCKBOOK_ADOPTION_LOCK_TIMEOUT", "100ms")
    monkeypatch.setenv("MOCKBOOK_ADOPTION_ATTEMPTS", "1000")
    lines = Lines()
    monkeypatch.setattr(sys, "stderr", lines)

    # a long report: its open transaction holds the bookings table (ACCESS SHARE)
    holder = psycopg.connect(url)
    holder.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings").fetchone()
    failures: list[BaseException] = []

    adoption: dict = {}

    def upgrade() -> None:
        try:
            migrations.upgrade(url, "head", adoption=adoption)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    upgrading = threading.Thread(target=upgrade)
    upgrading.start()
    try:
        wait_until("the upgrade giving up its lock wait twice",
                   lambda: lines.count("rolled back") >= 2 or not upgrading.is_alive())
        assert upgrading.is_alive(), (failures, lines.text)
        # while the report still holds the table and the upgrade keeps trying: the old app
        # reads and books, each call waiting at most one of the upgrade's bounded attempts
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '30s'")
            assert conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_contact_credits"
                                " WHERE student_id LIKE 'LIVE%'").fetchone()[0] == 400
            assert conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings"
                                ).fetchone()[0] == 0
        booked = [book_as_the_app(url, n) for n in (1, 2, 3)]
        assert all(result["success"] is True for result in booked), booked
        assert migrations.current(url) == "0001_baseline"
        assert upgrading.is_alive()
    finally:
        holder.close()  # the report ends
        upgrading.join(timeout=600)
    assert not upgrading.is_alive() and failures == [], (failures, lines.text)
    assert lines.count("rolled back") >= 2
    assert migrations.current(url) == migrations.head()
    # the window reported is the committed attempt's alone, not the waits before it
    assert adoption["attempts"] == lines.count("rolled back") + 1, (adoption, lines.text)
    assert 0 < adoption["locked_s"] < 60
    assert "were locked for" not in lines.text   # the caller that asked says it itself
    with psycopg.connect(url, autocommit=True) as conn:
        # the bookings made while the upgrade waited were adopted with the rest
        assert conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings"
                            " WHERE idempotency_key LIKE 'locks-%'").fetchone()[0] == 3


WINDOW = {
    "text": r"^the production tables were locked for ([0-9.]+) s \(attempt 1\)",
    "alembic": r"^mockbook: adopted at attempt 1 of \d+: the production tables were locked for"
               r" ([0-9.]+) s$",
}
# the API's statement timeouts on this database: the login role's, shorter than any window (an
# API role's own, set for this database only, is not what PostgREST applies: dba.md)
API_TIMEOUTS = """
DO $$ BEGIN CREATE ROLE authenticator NOLOGIN NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN
    EXECUTE format('ALTER ROLE authenticator IN DATABASE %I SET statement_timeout = %L',
                   current_database(), '1ms');
    EXECUTE format('ALTER ROLE anon IN DATABASE %I SET statement_timeout = %L',
                   current_database(), '1h');
END $$;
"""
CUT = (r"the upgrade's wait and window were longer than the statement timeout of anon \(0.001 s\),"
       r" authenticated \(0.001 s\), service_role \(0.001 s\): ")


@pytest.mark.parametrize("how", ["json", "text", "alembic"])
def test_the_adoption_says_how_long_it_locked_the_tables(
        fresh_database: MakeDatabase, how: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The adoption of a production database says its lock window (what a rehearsal on a
    restored copy is for: docs/dba.md), once: `mockbook migrate` in its summary (`--json`: the
    `adoption` object), Alembic's own command on stderr; a later migrate has none to say. It
    names the API roles whose statement timeout was shorter, whose calls that waited were
    cancelled, as `migrate --check` listed the timeouts before."""
    url = fresh_database("adopt_window")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(API_TIMEOUTS)
    migrations.stamp(url, "0001_baseline")
    checked = CliRunner().invoke(cli, ["--json", "migrate", "--check"],
                                 env={"DATABASE_URL": url}, catch_exceptions=False)
    assert json.loads(checked.stdout.strip().splitlines()[-1])["statement_timeouts"] == {
        role: {"seconds": 0.001, "set_on": "authenticator"}
        for role in ("anon", "authenticated", "service_role")}, checked.output
    args = ["--json", "migrate"] if how == "json" else ["migrate"]
    started = time.monotonic()
    if how == "alembic":
        migrations.upgrade(url, "head")
        out, err = capsys.readouterr()
    else:
        done = CliRunner().invoke(cli, args, env={"DATABASE_URL": url}, catch_exceptions=False)
        assert done.exit_code == 0, done.output
        out, err = done.stdout, done.stderr
    wall = time.monotonic() - started
    assert migrations.current(url) == migrations.head()
    if how == "json":
        adoption = json.loads(out.strip().splitlines()[-1])["adoption"]
        assert adoption["attempts"] == 1
        assert adoption["timeouts_exceeded"] == {
            "anon": 0.001, "authenticated": 0.001, "service_role": 0.001}
        locked = adoption["locked_s"]
    else:
        said = out if how == "text" else err
        found = re.findall(WINDOW[how], said, re.MULTILINE)
        assert len(found) == 1, (out, err)
        assert len(re.findall(CUT, said)) == 1, said
        locked = float(found[0])
    assert "were locked for" not in (err if how != "alembic" else out)   # said once
    assert 0 < locked < wall
    again = CliRunner().invoke(cli, args, env={"DATABASE_URL": url}, catch_exceptions=False)
    assert again.exit_code == 0 and "locked" not in again.output, again.output


# production's functions as the original apps call them, each blocked inside on the upgrade's
# locks: a booking, and the two reads
OLD_CALLS = {
    "create_booking_atomic": (
        "SELECT hubspot_sync.create_booking_atomic(p_booking_id := 'Clinical Skills-LIVE7-x',"
        " p_student_id := 'LIVE7', p_student_email := 'live7@example.com',"
        " p_mock_exam_id := '41000000001', p_student_name := 'Live',"
        " p_token_used := 'Clinical Skills Token', p_attending_location := 'mississauga',"
        " p_dominant_hand := 'right', p_idempotency_key := 'inflight-7',"
        " p_credit_field := 'cs_credits', p_new_credit_value := 2)"),
    "get_contact_credits": (
        "SELECT hubspot_sync.get_contact_credits(p_student_id := 'LIVE8',"
        " p_email := 'live8@example.com')"),
    "get_booking": "SELECT hubspot_sync.get_booking(p_booking_id := 'no such code')",
}
# the same booking by a caller whose statement timeout ends while it waits (PostgREST applies the
# API role's, on Supabase 8 s for service_role: docs/dba.md)
CUT_CALL = OLD_CALLS["create_booking_atomic"].replace("inflight-7", "inflight-cut").replace(
    "LIVE7-x", "LIVE7-cut")


def call_in_flight(url: str, name: str, outcomes: dict[str, str],
                   statement_timeout: str = "0") -> None:
    """One PostgREST-style call of production's function `name`: its outcome, a result, a
    documented error (PTnnn) or a raw one."""
    try:
        with psycopg.connect(url) as conn:
            conn.execute("SELECT set_config('role', 'service_role', true),"
                         " set_config('search_path', 'hubspot_sync, public', true),"
                         " set_config('statement_timeout', %s, true),"
                         " set_config('application_name', %s, true)",
                         (statement_timeout, f"inflight {name}"))
            conn.execute(OLD_CALLS.get(name, CUT_CALL)).fetchone()
        outcomes[name] = "result"
    except psycopg.Error as exc:
        state = exc.sqlstate or ""
        outcomes[name] = (f"documented {state} {exc}" if state.startswith("PT")
                          else f"raw {state} {exc}")


@pytest.mark.slow
def test_a_call_inside_an_old_function_at_the_commit_gets_a_documented_answer(
        fresh_database: MakeDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upgrade holds its locks and is about to commit; calls of production's functions
    made meanwhile are inside their old bodies, waiting on those locks. When it commits, each
    gets its result or UNAVAILABLE (PT503: nothing of the call kept, retry it), never the raw
    error of an old body meeting the new schema (42704 type "mock_set_enum" does not exist,
    42501 permission denied). A call whose statement timeout ends first is cancelled (57014),
    nothing of it kept."""
    url = fresh_database("adopt_inflight")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, "0001_baseline")

    # the upgrade stops just before its commit until the calls are waiting inside
    at_commit, go = threading.Event(), threading.Event()
    commit = sa.Connection.commit

    def held_commit(connection: sa.Connection) -> None:
        if connection.exec_driver_sql(
                "SELECT to_regclass('hubspot_sync.credit_ledger') IS NOT NULL").scalar():
            at_commit.set()
            go.wait(timeout=300)
        commit(connection)

    monkeypatch.setattr(sa.Connection, "commit", held_commit)
    failures: list[BaseException] = []

    adoption: dict = {}

    def upgrade() -> None:
        try:
            migrations.upgrade(url, "head", adoption=adoption)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    upgrading = threading.Thread(target=upgrade)
    outcomes: dict[str, str] = {}
    callers = [threading.Thread(target=call_in_flight, args=(url, name, outcomes))
               for name in OLD_CALLS]
    upgrading.start()
    try:
        wait_until("the upgrade about to commit", lambda: at_commit.is_set() or failures)
        assert not failures, failures
        for caller in callers:
            caller.start()
        cut: dict[str, str] = {}
        call_in_flight(url, "create_booking_atomic, cut off", cut, statement_timeout="1s")
        with psycopg.connect(url, autocommit=True) as conn:
            wait_until("each call waiting inside its old function on the upgrade's locks",
                       lambda: conn.execute(
                           "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                           " AND application_name LIKE 'inflight %'").fetchone()[0]
                       == len(OLD_CALLS))
    finally:
        go.set()
        upgrading.join(timeout=600)
        for caller in callers:
            caller.join(timeout=120)
    assert failures == [], failures
    assert migrations.current(url) == migrations.head()
    assert set(outcomes) == set(OLD_CALLS), outcomes
    raw = {name: outcome for name, outcome in outcomes.items() if outcome.startswith("raw")}
    assert raw == {}, raw
    assert all(o == "result" or o.startswith("documented PT503") for o in outcomes.values()), (
        outcomes)
    with psycopg.connect(url, autocommit=True) as conn:
        # an answered UNAVAILABLE kept nothing of the call; a result booked through mockbook
        kept = conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings"
                            " WHERE idempotency_key = 'inflight-7'").fetchone()[0]
        assert kept == (1 if outcomes["create_booking_atomic"] == "result" else 0)
        # cancelled by its statement timeout while it waited: nothing of it anywhere
        assert cut["create_booking_atomic, cut off"].startswith("raw 57014"), cut
        assert conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE"
                            " idempotency_key = 'inflight-cut' OR booking_id LIKE '%LIVE7-cut'"
                            ).fetchone()[0] == 0


def test_a_lock_it_could_not_get_is_named_with_its_holder(
        fresh_database: MakeDatabase) -> None:
    """The adoption that ran out of attempts says which table another session held and who that
    session is, what to do first, and that nothing changed; exit 75 (try again later)."""
    url = fresh_database("adopt_lock_named")
    load_dump(url)
    migrations.stamp(url, "0001_baseline")
    holder = psycopg.connect(url, application_name="long report")
    holder.execute("SELECT count(*) FROM hubspot_sync.hubspot_mock_exams").fetchone()
    try:
        done = CliRunner().invoke(cli, ["migrate"], env={
            "DATABASE_URL": url, "MOCKBOOK_ADOPTION_LOCK_TIMEOUT": "100ms",
            "MOCKBOOK_ADOPTION_ATTEMPTS": "2"})
    finally:
        holder.close()
    assert done.exit_code == 75, done.output
    lines = done.output.splitlines()
    retry = next(line for line in lines if "rolled back (55P03" in line)
    assert retry.endswith("on hubspot_sync.hubspot_mock_exams); trying again"), retry
    block = lines[lines.index(retry) + 1:]
    assert block[0].startswith("mockbook: Another session held a lock on the tables named"), block
    assert "(a lock on hubspot_sync.hubspot_mock_exams)" in block[1], block
    assert re.fullmatch(r"  hubspot_sync\.hubspot_mock_exams: held by pid \d+ \(long report\), "
                        r"idle in transaction since .*", block[2]), block
    assert block[-1] == ("the adoption was rolled back as a whole (2 attempts); nothing was "
                         "changed: the database is still at 0001_baseline"), block
    assert "Traceback" not in done.output
    assert migrations.current(url) == "0001_baseline"


def test_a_second_migrate_that_waited_finds_the_work_done(fresh_database: MakeDatabase) -> None:
    """Two `mockbook migrate` at once: the second waits for the first, then says the first did
    the work (not that it adopted too: no lock window of its own)."""
    url = fresh_database("adopt_two_migrates")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, "0001_baseline")
    env = {k: v for k, v in os.environ.items() if k != "PGOPTIONS"} | {
        "DATABASE_URL": url, "MOCKBOOK_ADOPTION_LOCK_TIMEOUT": "100ms",
        "MOCKBOOK_ADOPTION_ATTEMPTS": "1000"}
    mockbook = [shutil.which("mockbook", path=os.path.dirname(sys.executable)) or "mockbook"]
    # a report holds the bookings: the first migrate keeps retrying, holding its turn
    holder = psycopg.connect(url)
    holder.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings").fetchone()
    watch = psycopg.connect(url, autocommit=True)
    advisory = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted = %s"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
    first = subprocess.Popen([*mockbook, "migrate"], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until("the first migrate holding its turn",
                   lambda: watch.execute(advisory, (True,)).fetchone()[0] == 1
                   or first.poll() is not None)
        second = subprocess.Popen([*mockbook, "migrate", "--json"], env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until("the second migrate waiting for the first",
                   lambda: watch.execute(advisory, (False,)).fetchone()[0] == 1
                   or second.poll() is not None)
        assert first.poll() is None and second.poll() is None
    finally:
        holder.close()
    out1, err1 = first.communicate(timeout=600)
    out2, err2 = second.communicate(timeout=600)
    watch.close()
    assert first.returncode == 0, err1
    assert f"0001_baseline -> {migrations.head()}" in out1 and "were locked for" in out1, out1
    assert second.returncode == 0, err2
    assert "another migration of this database is running; waiting for it" in err2
    said = json.loads(out2.strip().splitlines()[-1])
    assert said["done_by_another_migrate"] == {"from": ["0001_baseline"],
                                               "to": [migrations.head()]}, said
    assert said["changed"] is False and "adoption" not in said, said
    assert migrations.current(url) == migrations.head()
