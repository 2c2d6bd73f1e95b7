"""The connection budget: how many database connections each process holds at most, the setting
that caps it (MOCKBOOK_DATABASE_CONNECTIONS), and a deployment that fits a Supabase session
pool of 15: `worker --webhooks` capped at 11 and a cron `mockbook run` at 3 (then a `mockbook
status`) through PgBouncer in session mode with 15 server connections per pool, where the 16th
client waits. Everything works and nobody waits; a 16th client's wait is reported while it waits (a
warning, `database_wait`), and it goes on once a connection is free, never an error. The
figures of docs/operations.md ("Connection budget") are the layouts' own.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pull_helpers
import push_helpers
import pytest
import sandbox_fixtures
from conftest import url_for
from glue_role import glue_url
from pooler_fixtures import PgBouncer, database_of, free_port, pooled_database
from pull_helpers import fast, seed_contacts, seed_exams
from push_helpers import ROOT, env_for, mockbook, query, run_main
from test_worker import RunningWorker
from waiting import wait_until

from glue.cli.runner import worker_layout
from glue.config import ConfigError
from glue.db import connection
from glue.db.connection import Layout
from glue.run.cycle import RUN_LAYOUT
from glue.sandbox import BOOKINGS, EXAMS, Sandbox
from glue.sandbox.webhooks import attach
from glue.sync.webhooks import WEBHOOKS_LAYOUT

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
pooled_db = pooled_database("session_pool")
SECRET = "budget-test-secret"
POOL = 15  # a Supabase project's common pool size
WORKER_CAP, RUN_CAP = 11, 3  # the documented deployment: 11 + 3 = 14, one to spare

LAYOUTS = {"run": RUN_LAYOUT, "worker": worker_layout(False),
           "worker --webhooks": worker_layout(True), "webhooks serve": WEBHOOKS_LAYOUT}


def documented() -> dict[str, tuple[int, int]]:
    """{command: (at most, least cap)} from docs/operations.md's Connection budget table."""
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("### Connection budget", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `mockbook ([a-z -]+?)(?: HOST:PORT)?` \| (\d+) \| (\d+) \|", section,
                      re.MULTILINE)
    return {name: (int(most), int(least)) for name, most, least in rows}


def test_the_documented_budget_is_each_layouts() -> None:
    assert documented() == {name: (layout.most, layout.least)
                            for name, layout in LAYOUTS.items()}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_a_layout_fits_every_cap_from_its_least(name: str) -> None:
    layout: Layout = LAYOUTS[name]
    assert layout.sizes(None) == dict(layout.pools)
    own = sum(n for _, n in layout.own)
    for cap in range(layout.least, layout.most + 2):
        sizes = layout.sizes(cap)
        assert min(sizes.values()) >= 1
        assert own + sum(sizes.values()) == min(cap, layout.most), (cap, sizes)
    with pytest.raises(ConfigError, match=f"MOCKBOOK_DATABASE_CONNECTIONS={layout.least - 1} "
                                          f"is below what `mockbook {name}` needs at least"):
        layout.sizes(layout.least - 1)


@pytest.mark.parametrize("command", [["run"], ["worker"], ["worker", "--webhooks", "127.0.0.1:0"]])
def test_a_cap_below_the_least_is_one_line_and_exit_2(command, monkeypatch, capsys) -> None:
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "HUBSPOT_ACCESS_TOKEN": "x",
           "MOCKBOOK_DATABASE_CONNECTIONS": "2", "HUBSPOT_CLIENT_SECRET": "s"}
    code, _, err = run_main(command, env, monkeypatch, capsys)
    assert (code, err.count("\n")) == (2, 1), err
    assert "MOCKBOOK_DATABASE_CONNECTIONS=2 is below" in err


def test_a_connection_beyond_the_cap_waits_and_says_so(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The process's own cap: a connection beyond it waits for one to close, reported once,
    and is opened then (never an error)."""
    monkeypatch.setattr(connection, "WAIT_REPORT_SECONDS", 0.05)
    caplog.set_level("WARNING", logger="glue.db.connection")
    connection.configure(1)
    try:
        first = connection.connect(database_url, autocommit=True)
        got: list[psycopg.Connection] = []
        opener = threading.Thread(target=lambda: got.append(
            connection.connect(database_url, autocommit=True)))
        opener.start()
        wait_until("the wait reported", lambda: any(
            r.__dict__.get("fields", {}).get("event") == "database_wait" for r in caplog.records))
        assert not got and connection.held() == 1
        first.close()
        opener.join(60)
        assert len(got) == 1 and connection.held() == 1 and connection.peak() == 1
        got[0].close()
        assert connection.held() == 0
    finally:
        connection.configure(None)


def test_a_capped_run_holds_at_most_its_cap(
    push_db: str, sandbox: Sandbox, monkeypatch, capsys
) -> None:
    fast(sandbox)
    [exam] = seed_exams(sandbox, [{"capacity": "9"}])
    students = [f"CAP{i}" for i in range(4)]
    seed_contacts(sandbox, [{"student_id": s, "cs_credits": "2"} for s in students])
    env = env_for(push_db, sandbox, HUBSPOT_SEARCH_RATE="50")
    code, out, err = run_main(["run", "--json"], env, monkeypatch, capsys)
    assert code == 0, err
    assert 1 < json.loads(out)["database_connections"]["peak"] <= RUN_LAYOUT.most
    for s in students:
        pull_helpers.book(push_db, s, exam)
    capped = env | {"MOCKBOOK_DATABASE_CONNECTIONS": str(RUN_CAP)}
    code, out, err = run_main(["run", "--json"], capped, monkeypatch, capsys)
    report = json.loads(out)
    assert code == 0, (out, err)
    assert {step["status"] for step in report["steps"].values()} <= {"ok", "skipped"}, report
    assert report["steps"]["push"]["sent"] >= len(students)
    assert report["database_connections"]["cap"] == RUN_CAP
    assert report["database_connections"]["peak"] <= RUN_CAP
    assert connection.cap() is None, "the cap is the command's: gone once it ended"


# ---- the deployment through a session pool of 15 -------------------------------------------------
@pytest.fixture(scope="module")
def session_pool() -> Iterator[PgBouncer]:
    with PgBouncer("session", url_for("postgres"), pool_size=POOL) as running:
        yield running


class WaitWatch:
    """Looks at PgBouncer's pools while a test runs: whether a client of ``database`` ever
    waited while every server connection of its pool was taken (a client waiting while a new
    server connection is being opened is not that)."""

    def __init__(self, bouncer: PgBouncer, database: str) -> None:
        self.bouncer, self.database = bouncer, database
        self.seen: list[dict] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self.done.wait(0.05):
            for pool in self.bouncer.pools(self.database):
                servers = sum(pool[k] for k in ("sv_active", "sv_idle", "sv_used", "sv_tested",
                                                 "sv_login"))
                if pool["cl_waiting"] and servers >= self.bouncer.pool_size:
                    self.seen.append(pool)

    def __enter__(self) -> WaitWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(30)


def in_hubspot(sb: Sandbox, code: str) -> bool:
    found = sb.get_by(BOOKINGS, "booking_id", code)
    return found is not None and not found.get("archived")


def test_worker_intake_and_cron_run_fit_a_session_pool_of_15(
    session_pool: PgBouncer, pooled_db: str, sandbox: Sandbox, tmp_path: Path, monkeypatch, capsys
) -> None:
    fast(sandbox)
    exams = seed_exams(sandbox, [{"capacity": "20"}])
    students = [f"FIT{i}" for i in range(4)]
    seed_contacts(sandbox, [{"student_id": s, "cs_credits": "2"} for s in students])
    pooled = env_for(pooled_db, sandbox, HUBSPOT_SEARCH_RATE="50") | {
        "DATABASE_URL": session_pool.url(glue_url(pooled_db))}
    port = free_port()
    with WaitWatch(session_pool, database_of(pooled_db)) as watch:
        worker = RunningWorker(pooled | {"MOCKBOOK_WORKER_WEBHOOKS": f"127.0.0.1:{port}",
                                         "HUBSPOT_CLIENT_SECRET": SECRET,
                                         "MOCKBOOK_DATABASE_CONNECTIONS": str(WORKER_CAP)},
                               tmp_path / "worker.log", None)
        sender = None
        try:
            wait_until("the worker's first pull", lambda: worker.proc.poll() is not None or (
                query(pooled_db, "SELECT count(*) AS n FROM hubspot_sync.hubspot_contact_credits"
                      )[0]["n"] == len(students)))
            assert worker.proc.poll() is None, worker.log_path.read_text()
            codes = [pull_helpers.book(pooled_db, s, exams[0])["booking_id"] for s in students]
            # the cron run beside it, capped
            code, out, err = run_main(["run", "--json"], pooled | {
                "MOCKBOOK_DATABASE_CONNECTIONS": str(RUN_CAP)}, monkeypatch, capsys)
            assert code == 0, (out, err)
            assert json.loads(out)["database_connections"]["peak"] <= RUN_CAP
            code, out, err = run_main(["status", "--json"], pooled, monkeypatch, capsys)
            assert code == 0 and json.loads(out)["connection"]["mode"] == "session", (out, err)
            wait_until("every booking in HubSpot", lambda: all(in_hubspot(sandbox, c)
                                                                for c in codes))
            sender = attach(sandbox, f"http://127.0.0.1:{port}/webhooks/hubspot", SECRET,
                            retry_delays=(0.2,) * 9)
            sandbox.touch(EXAMS, exams[0], capacity="12")
            wait_until("the webhook applied", lambda: query(
                pooled_db, "SELECT capacity FROM hubspot_sync.hubspot_mock_exams "
                         "WHERE hubspot_id = %s", (exams[0],))[0]["capacity"] == 12)
        finally:
            if sender is not None:
                sender.stop()
            assert worker.stop() == 0, worker.log_path.read_text()
    assert watch.seen == [], "a client waited for a server connection of a full pool"
    events = worker.events()
    [used] = [e for e in events if e.get("event") == "database_connections"]
    assert used["cap"] == WORKER_CAP and used["peak"] <= WORKER_CAP, used
    problems = [e for e in events if e.get("level") in ("warning", "error")
                and "REDIS_URL" not in (e.get("msg") or "")]
    assert problems == [], problems


def test_the_16th_client_waits_and_says_so(session_pool: PgBouncer, pooled_db: str) -> None:
    """Every server connection of the pool taken: a command reports that it waits (while it
    waits: a warning), then goes on when one is given back, exit 0; nothing fails."""
    url = session_pool.url(glue_url(pooled_db))
    held = [psycopg.connect(url, autocommit=True, prepare_threshold=None) for _ in range(POOL)]
    sixteenth = None
    try:
        for conn in held:
            conn.execute("SELECT 1")  # each now holds a server connection (session mode)
        sixteenth = mockbook(["dlq", "list", "--json"], {"DATABASE_URL": url})
        said: list[str] = []
        reader = threading.Thread(target=lambda: said.extend(sixteenth.stderr), daemon=True)
        reader.start()
        wait_until("the wait reported", lambda: any(
            "waiting for the database to serve a new connection" in line for line in said)
            or sixteenth.poll() is not None)
        assert sixteenth.poll() is None, said
        assert any(p["cl_waiting"] for p in session_pool.pools(database_of(pooled_db)))
        held.pop().close()  # one server connection free
        out = sixteenth.stdout.read() if sixteenth.stdout else ""
        sixteenth.wait(300)
        reader.join(60)
    finally:
        for conn in held:
            conn.close()
        if sixteenth is not None and sixteenth.poll() is None:
            sixteenth.kill()
    assert sixteenth is not None and sixteenth.returncode == 0, said
    assert json.loads(out) == []
    assert any("the database served the new connection after" in line for line in said), said
