"""The run lease and the audit-notes lease (mockbook_internal.glue_leases, glue.db.lease): one
`mockbook run` at a time per database through a direct connection and through PgBouncer in
transaction mode (Supabase's port 6543) and in session mode. Two runs at once: the second exits
75 (or waits with --wait); a run killed mid-step leaves its lease, which the next run takes over
(at once on the same host, whose process is gone; after its expiry from another host); nothing
is left on a pooled server connection. Takers racing for one lease get it once.

Through transaction mode the run lock was a session-level advisory lock, granted on whichever
server connection served the statement and left there after the run: every later run exited 75,
and two runs sharing that server connection both got it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import psycopg
import pull_helpers
import push_helpers
import pytest
import sandbox_fixtures
from conftest import url_for
from glue_role import glue_url
from pooler_fixtures import PgBouncer, database_of, leftovers, pooled_database
from pull_helpers import fast, seed_contacts, seed_exams
from push_helpers import env_for, mockbook, query, run_main
from waiting import wait_until

from glue.db import lease as lease_module
from glue.db.lease import Lease, holder_name
from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
pooled_db = pooled_database("bouncer")

TAKERS = 6  # connections racing for one lease


# Server connections per (user, database): through transaction mode a few serve two runs; through
# session mode each client connection holds one, and two runs hold 7 each at most.
POOL_SIZES = {"transaction": 3, "session": 16}


@pytest.fixture(scope="module", params=list(POOL_SIZES))
def bouncer(request: pytest.FixtureRequest) -> Iterator[PgBouncer]:
    """A PgBouncer of this module in each mode."""
    with PgBouncer(request.param, url_for("postgres"),
                   pool_size=POOL_SIZES[request.param]) as running:
        yield running


def take(url: str, name: str, holder: str, seconds: float = 60) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT mockbook_internal.take_glue_lease(%s, %s, %s)",
                            (name, holder, seconds)).fetchone()[0]


def test_takers_racing_for_one_lease_get_it_once(database_url: str) -> None:
    url = glue_url(database_url)
    conns = [psycopg.connect(url, autocommit=True) for _ in range(TAKERS)]
    barrier = threading.Barrier(TAKERS)
    answers: list[dict] = [{}] * TAKERS

    def racer(i: int) -> None:
        barrier.wait()
        answers[i] = conns[i].execute(
            "SELECT mockbook_internal.take_glue_lease('race', %s, 60)", (f"h:{i}:x",)
        ).fetchone()[0]

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(TAKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for conn in conns:
        conn.close()
    winners = [a["holder"] for a in answers if a["taken"]]
    assert len(winners) == 1, answers
    assert {a["holder"] for a in answers} == set(winners), "every loser names the winner"
    # renewed by its holder (taken_at kept), refused to another, given back by its holder only
    again, won = take(url, "race", winners[0]), next(a for a in answers if a["taken"])
    assert again["taken"] and again["taken_at"] == won["taken_at"]
    assert not take(url, "race", "other:1:x")["taken"]
    with psycopg.connect(url, autocommit=True) as conn:
        release = "SELECT mockbook_internal.release_glue_lease('race', %s)"
        assert conn.execute(release, ("other:1:x",)).fetchone()[0] is False
        assert conn.execute(release, (winners[0],)).fetchone()[0] is True
    assert take(url, "race", "other:1:x")["taken"]


@pytest.mark.parametrize("args", [("", "h", 60), ("Run", "h", 60), ("run", "", 60),
                                  ("run", "h", 0), ("run", "h", 3601), ("run", "x" * 201, 60)])
def test_a_malformed_lease_call_is_refused_and_changes_nothing(database_url: str, args) -> None:
    url = glue_url(database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT mockbook_internal.take_glue_lease(%s, %s, %s)", args)
        assert "INVALID_ARGUMENT" in str(refused.value)
        assert conn.execute("SELECT count(*) FROM mockbook_internal.glue_leases "
                            "WHERE name = %s", (args[0],)).fetchone()[0] == 0


def test_a_kept_lease_is_renewed_and_one_taken_over_is_lost(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The holder renews it while it works (its expiry moves); a renewal that finds another
    holder (the holder stalled past its lease and another took it) says it is lost, once."""
    url = glue_url(database_url)
    monkeypatch.setattr(lease_module, "RENEW_EVERY", 0.05)
    lease = Lease("renewal", seconds=60)
    lost = threading.Event()
    with psycopg.connect(url, autocommit=True) as conn:
        assert lease.take(conn).taken
        first = conn.execute("SELECT renewed_at FROM mockbook_internal.glue_leases "
                             "WHERE name = 'renewal'").fetchone()[0]
        with lease.kept(lambda: psycopg.connect(url, autocommit=True), on_lost=lost.set):
            wait_until("a renewal", lambda: conn.execute(
                "SELECT renewed_at > %s FROM mockbook_internal.glue_leases "
                "WHERE name = 'renewal'", (first,)).fetchone()[0])
            # its lease expired and another holder took it, in one step (the holder renews
            # every 50 ms: an expiry alone would be renewed before the taker came)
            with psycopg.connect(database_url, autocommit=True) as owner:
                owner.execute("UPDATE mockbook_internal.glue_leases SET holder = 'thief:1:x', "
                              "expires_at = now() + interval '1 hour' WHERE name = 'renewal'")
            wait_until("the loss noticed", lost.is_set)
        assert lease.lost.is_set()
        assert not lease.release(conn), "not its own any more: nothing given back"
        assert conn.execute("SELECT holder FROM mockbook_internal.glue_leases "
                            "WHERE name = 'renewal'").fetchone()[0] == "thief:1:x"


# ---- `mockbook run` through the poolers ---------------------------------------------------------
class Gate:
    """Holds the sandbox's answer to the first search (the first run's pull) until ``open()``:
    a run stopped mid-step, holding the run lease. Later searches pass (a second run that got
    in anyway runs to its end, and the test says so)."""

    def __init__(self, sb: Sandbox) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self._lock = threading.Lock()
        sb.faults.rewrite = self.rewrite

    def rewrite(self, method: str, path: str, status: int, body):
        with self._lock:
            first = path.endswith("/search") and not self.entered.is_set()
            if first:
                self.entered.set()
        if first:
            self.opened.wait(300)
        return body

    def open(self) -> None:
        self.opened.set()


def advisory_locks(database_url: str) -> int:
    """Advisory locks held by any session of this database (every server connection)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()[0]


def test_one_run_at_a_time_and_a_killed_run_through_the_pooler(
    bouncer: PgBouncer, pooled_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    fast(sandbox)
    [exam] = seed_exams(sandbox, [{"capacity": "5"}])
    seed_contacts(sandbox, [{"student_id": "LEASE1", "cs_credits": "2"}])
    env = env_for(pooled_db, sandbox, HUBSPOT_SEARCH_RATE="50")
    pooled = env | {"DATABASE_URL": bouncer.url(glue_url(pooled_db))}
    gate = Gate(sandbox)
    first = mockbook(["run", "--json"], pooled)
    try:
        assert gate.entered.wait(120), first.communicate(timeout=60)
        # a second run while the first holds the lease (mid-pull): 75 at once, naming it
        code, out, err = run_main(["run", "--json"], pooled, monkeypatch, capsys)
        report = json.loads(out)
        assert (code, report["busy"]) == (75, True), err
        assert report["holder"].split(":")[1] == str(first.pid)
        # the first run is killed mid-step (SIGKILL: nothing given back) ...
        first.kill()
        first.wait(60)
    finally:
        gate.open()
    # ... and the next run, on the same host, sees its process gone and takes the lease over
    code, out, err = run_main(["run", "--json"], pooled, monkeypatch, capsys)
    assert code == 0, (out, err)
    report = json.loads(out)
    assert report["steps"]["pull"]["exams"]["inserted"] == 1
    pull_helpers.book(pooled_db, "LEASE1", exam)
    # A lease held by another host is waited for until it expires, then taken over.
    with psycopg.connect(pooled_db, autocommit=True) as owner:
        owner.execute("INSERT INTO mockbook_internal.glue_leases (name, holder, expires_at) "
                      "VALUES ('run', 'elsewhere:7:abcdef', now() + interval '1 hour')")
        code, out, err = run_main(["run"], pooled, monkeypatch, capsys)
        assert code == 75 and "elsewhere:7:abcdef" in err, err
        owner.execute("UPDATE mockbook_internal.glue_leases SET expires_at = now() "
                      "WHERE name = 'run'")  # its holder stopped renewing it: expired
    code, out, err = run_main(["run", "--json"], pooled, monkeypatch, capsys)
    assert code == 0, (out, err)
    assert json.loads(out)["steps"]["push"]["sent"] >= 1
    # every run gave its lease back; nothing stays on a pooled server connection
    assert query(pooled_db, "SELECT count(*) AS n FROM mockbook_internal.glue_leases")[0]["n"] == 0
    assert advisory_locks(pooled_db) == 0
    assert leftovers(bouncer, glue_url(pooled_db)) == []
    assert pull_helpers.invariant_violations(pooled_db) == []
    assert database_of(bouncer.url(pooled_db)) == database_of(pooled_db)


def test_a_waiting_run_starts_when_the_first_ends(
    bouncer: PgBouncer, pooled_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    """--wait through the pooler: the second run waits for the first's lease, says so once,
    then runs every step."""
    fast(sandbox)
    seed_exams(sandbox, [{"capacity": "5"}])
    env = env_for(pooled_db, sandbox, HUBSPOT_SEARCH_RATE="50")
    pooled = env | {"DATABASE_URL": bouncer.url(glue_url(pooled_db))}
    gate = Gate(sandbox)
    first = mockbook(["run", "--json"], pooled)
    try:
        assert gate.entered.wait(120), first.communicate(timeout=60)
        second = mockbook(["run", "--wait", "--json"], pooled)
        said = ""
        for line in second.stderr:
            said += line
            if '"event": "lock_wait"' in line:
                break
        assert '"event": "lock_wait"' in said, said
        assert second.poll() is None
    finally:
        gate.open()
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, said + err
    assert json.loads(out)["lock_waited_seconds"] > 0
    assert leftovers(bouncer, glue_url(pooled_db)) == []


def test_the_holder_name_is_host_pid_random() -> None:
    host, pid, tail = holder_name().split(":")
    assert pid.isdigit() and len(tail) == 6 and host


@pytest.mark.parametrize(("url", "mode"), [
    ("postgresql://postgres.abc:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
     "transaction"),
    ("postgresql://postgres.abc:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres",
     "session"),
    ("postgresql://postgres.abc:pw@aws-0-eu-central-1.pooler.supabase.com/postgres", "session"),
    ("postgresql://postgres:pw@db.abcdefghijkl.supabase.co:5432/postgres", "direct"),
    ("postgresql://mockbook@db.internal:6543/mockbook", None),
])
def test_supabase_host_names_say_the_mode(url: str, mode: str | None) -> None:
    """What Supabase's host names and ports say (glue.db.pooler.by_host); a refusal names the
    session pooler on the same host, or the direct connection."""
    from glue.db.pooler import by_host, session_url_hint

    found = by_host(url)
    assert (found.mode if found else None) == mode
    hint = session_url_hint(url)
    assert "direct" in hint and "5432" in hint
    if "pooler.supabase.com" in url:
        assert "aws-0-eu-central-1.pooler.supabase.com:5432" in hint
