"""Every command of the glue through the URLs Supabase's "Connect" dialog offers, played by
PgBouncer in front of the test server: transaction mode (Supavisor's port 6543: a server
connection per transaction, no prepared statement carried between them) and session mode (the
pooler host's port 5432). import, pull, push, notes, reconcile, run, trace, status, dlq, and
the worker with its webhook intake (a change made in HubSpot arrives as a signed webhook, a new
booking is pushed within seconds) all work; `status` names the mode it sees; and afterwards no
pooled server connection holds anything a transaction left behind (a prepared statement, an
advisory lock, a temporary table, a LISTEN, a session setting). `migrate` and `demo`, which
need a session of their own, refuse a transaction pooler at start with one line naming the URL
to use instead.

Through transaction mode the notes step failed with `prepared statement "_pg3_0" already
exists` (psycopg prepares a statement after its fifth execution, and the next transaction ran
on another server connection), and the run lock stayed on a pooled server connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pull_helpers
import push_helpers
import pytest
import sandbox_fixtures
from conftest import url_for
from glue_role import glue_url
from pooler_fixtures import PgBouncer, free_port, leftovers, pooled_database
from pull_helpers import fast, seed_contacts, seed_exams
from push_helpers import env_for, pending, query, run_main
from test_run_lease import advisory_locks
from test_worker import RunningWorker
from waiting import wait_until

from glue.sandbox import BOOKINGS, EXAMS, Sandbox
from glue.sandbox.webhooks import attach

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
pooled_db = pooled_database("bouncer")
SECRET = "pooler-test-secret"


# Server connections per (user, database): in transaction mode a few serve every client; in
# session mode each client connection holds one for its life, so the pool holds the worker's,
# its intake's and a command's at once, uncapped (MOCKBOOK_DATABASE_CONNECTIONS fits them into
# a smaller one: test_connection_budget.py).
POOL_SIZES = {"transaction": 4, "session": 30}


@pytest.fixture(scope="module", params=list(POOL_SIZES))
def bouncer(request: pytest.FixtureRequest) -> Iterator[PgBouncer]:
    with PgBouncer(request.param, url_for("postgres"),
                   pool_size=POOL_SIZES[request.param]) as running:
        yield running


def in_hubspot(sb: Sandbox, code: str) -> bool:
    found = sb.get_by(BOOKINGS, "booking_id", code)
    return found is not None and not found.get("archived")


def exercise_commands(owner_url: str, glue_env: dict[str, str], sb: Sandbox, tmp_path: Path,
                      monkeypatch, capsys, *, mode: str) -> None:
    """Every command of the glue on the database of ``owner_url`` (its rows seeded and booked
    as the owner), the glue's DATABASE_URL in ``glue_env``: import, pull, push, notes,
    reconcile, run (twice), trace, status (which must name ``mode``), dlq, and the worker with
    its webhook intake (a booking pushed, a change made in HubSpot applied from its signed
    webhook, SIGTERM: exit 0, no warning)."""
    fast(sb)
    exams = seed_exams(sb, [{"capacity": "30"}, {"capacity": "30"}])
    students = [f"POOL{i}" for i in range(8)]
    seed_contacts(sb, [{"student_id": s, "cs_credits": "3"} for s in students])

    def cli(*args: str) -> str:
        code, out, err = run_main(list(args), glue_env, monkeypatch, capsys)
        assert code == 0, (args, out, err)
        return out

    cli("import")
    codes = [pull_helpers.book(owner_url, s, exams[i % 2])["booking_id"]
             for i, s in enumerate(students[:6])]
    cli("pull")
    cli("push", "--linger", "0")
    assert pending(owner_url) == 0 and all(in_hubspot(sb, c) for c in codes)
    notes = json.loads(cli("notes", "--json"))
    assert notes["created"] >= 6, notes
    assert json.loads(cli("reconcile", "--json"))["drift"] == 0
    first = json.loads(cli("run", "--json"))
    assert first["ok"], first
    codes.append(pull_helpers.book(owner_url, students[6], exams[0])["booking_id"])
    second = json.loads(cli("run", "--json"))
    assert second["steps"]["push"]["sent"] >= 1 and second["steps"]["notes"]["created"] >= 1
    assert codes[0] in cli("trace", codes[0])
    status = json.loads(cli("status", "--json"))
    assert status["connection"]["mode"] == mode, status["connection"]
    assert json.loads(cli("dlq", "list", "--json")) == []

    # the worker with its webhook intake, through the same URL
    port = free_port()
    worker = RunningWorker(glue_env | {"MOCKBOOK_WORKER_WEBHOOKS": f"127.0.0.1:{port}",
                                       "HUBSPOT_CLIENT_SECRET": SECRET},
                           tmp_path / "worker.log", None)
    sender = None
    try:
        wait_until("the intake listening", lambda: worker.proc.poll() is not None or any(
            "webhook intake listening" in (e.get("msg") or "") for e in worker.events()))
        assert worker.proc.poll() is None, worker.log_path.read_text()
        code = pull_helpers.book(owner_url, students[7], exams[1])["booking_id"]
        wait_until("the worker's push", lambda: in_hubspot(sb, code))
        sender = attach(sb, f"http://127.0.0.1:{port}/webhooks/hubspot", SECRET,
                        retry_delays=(0.2,) * 9)
        sb.touch(EXAMS, exams[0], capacity="17")
        wait_until("the webhook applied", lambda: query(
            owner_url, "SELECT capacity FROM hubspot_sync.hubspot_mock_exams "
                       "WHERE hubspot_id = %s", (exams[0],))[0]["capacity"] == 17)
    finally:
        if sender is not None:
            sender.stop()
        assert worker.stop() == 0, worker.log_path.read_text()
    problems = [e for e in worker.events() if e.get("level") in ("warning", "error")
                and "REDIS_URL" not in (e.get("msg") or "")]
    assert problems == [], problems
    broken = query(owner_url, "SELECT invariant, subject, detail FROM "
                              "mockbook_internal.check_invariants() "
                              "WHERE invariant NOT LIKE 'legacy%%'")
    assert broken == []


def test_every_command_works_through_the_pooler(
    bouncer: PgBouncer, pooled_db: str, sandbox: Sandbox, tmp_path: Path, monkeypatch, capsys
) -> None:
    pooled = env_for(pooled_db, sandbox, HUBSPOT_SEARCH_RATE="50") | {
        "DATABASE_URL": bouncer.url(glue_url(pooled_db))}
    exercise_commands(pooled_db, pooled, sandbox, tmp_path, monkeypatch, capsys,
                      mode=bouncer.mode)
    assert advisory_locks(pooled_db) == 0
    assert leftovers(bouncer, glue_url(pooled_db)) == []


def test_migrate_and_demo_need_a_session(
    bouncer: PgBouncer, pooled_db: str, monkeypatch, capsys
) -> None:
    """Through transaction mode `migrate` and `demo` refuse at start: one line naming what to
    use instead, exit 2, nothing done. Through session mode `migrate` works (the database is at
    head already)."""
    env = {"DATABASE_URL": bouncer.url(pooled_db)}  # the schema owner, as migrate and demo run
    if bouncer.mode == "session":
        code, out, err = run_main(["migrate"], env, monkeypatch, capsys)
        assert code == 0 and "head" in out, (out, err)
        return
    for command in (["migrate"], ["demo", "--scale", "small"]):
        code, out, err = run_main(command, env, monkeypatch, capsys)
        assert (code, err.count("\n")) == (2, 1), err
        assert "transaction-mode pooler" in err and "session" in err and "direct" in err, err
    with psycopg.connect(pooled_db) as conn:  # the demo loaded nothing
        assert conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_mock_exams "
                            "WHERE mock_exam_name LIKE '[demo]%%'").fetchone()[0] == 0
