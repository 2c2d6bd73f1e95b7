"""A stop is prompt in every step of the worker: SIGTERM during a long pull, a notes backlog, an
analytics refresh waiting on a lock, or webhook processing ends the worker within the documented
bound (the page, the notes batch or the HubSpot call in hand: a few seconds), exit 0, nothing
leased. Before, the notes step ran its whole backlog first (90 s measured, past systemd's
TimeoutStopSec). The bound below only stops a hung test; the work each step had left is what is
asserted."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import psycopg
import pull_helpers
import push_helpers
import pytest
import sandbox_fixtures
from pull_helpers import fast, seed_contacts, seed_exams
from push_helpers import env_for, query
from test_notes_backlog import BACKLOG
from test_worker import RunningWorker, in_hubspot, leased_by, private_redis, wait_for

from glue.sandbox import NOTES, Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
__all__ = ["private_redis"]

# seconds: only bounds a hang (a loaded machine may take many seconds for the page, the notes
# batch or the call in hand); what shows a late stop is the work left, asserted per step
BOUND = 120.0


def _count(url: str, sql: str) -> int:
    return query(url, sql)[0]["n"]


def _stop_promptly(worker: RunningWorker) -> None:
    try:
        code = worker.stop(timeout=BOUND)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker did not stop within {BOUND} s:\n{worker.log_path.read_text()}")
    assert code == 0, worker.log_path.read_text()
    assert worker.logged("stop")


def test_sigterm_during_a_long_pull(push_db: str, sandbox: Sandbox, private_redis: dict[str, Any],
                                    tmp_path: Path) -> None:
    fast(sandbox)
    seed_contacts(sandbox, [{"student_id": f"PS{i}"} for i in range(6000)])
    sandbox.faults.latency = 0.15  # each search page: a slow portal
    sandbox.faults.spare_portal_reads = True
    worker = RunningWorker(env_for(push_db, sandbox, REDIS_URL=private_redis["url"]),
                           tmp_path / "pull.log", "stop-pull")
    try:
        contacts = "SELECT count(*) AS n FROM hubspot_sync.hubspot_contact_credits"
        wait_for("the pull under way", lambda: _count(push_db, contacts) >= 200)
        _stop_promptly(worker)
    finally:
        worker.kill()
        sandbox.faults.latency = 0
    assert _count(push_db, contacts) < 6000  # it stopped mid-pull, its cursor saved
    cursor = query(push_db, "SELECT cursor FROM hubspot_sync.sync_metadata "
                            "WHERE sync_type = 'pull:contacts'")
    assert cursor and cursor[0]["cursor"].get("since_ms") is not None


def test_sigterm_during_a_notes_backlog(push_db: str, sandbox: Sandbox,
                                        private_redis: dict[str, Any], tmp_path: Path) -> None:
    fast(sandbox)
    exams = seed_exams(sandbox, [{"capacity": "20"}])
    seed_contacts(sandbox, [{"student_id": "NS1", "cs_credits": "2"}])
    worker = RunningWorker(env_for(push_db, sandbox, REDIS_URL=private_redis["url"],
                                   MOCKBOOK_WORKER_PULL_SECONDS="1"),
                           tmp_path / "notes.log", "stop-notes")
    try:
        wait_for("the first pull", lambda: _count(
            push_db, "SELECT count(*) AS n FROM hubspot_sync.hubspot_contact_credits") == 1)
        booking = pull_helpers.book(push_db, "NS1", exams[0])
        wait_for("the booking in HubSpot", lambda: in_hubspot(sandbox, booking["booking_id"]))
        with psycopg.connect(push_db, autocommit=True) as conn:
            conn.execute(BACKLOG, {"n": 3000, "student": "NS1"})  # 3,000 notes to write
        sandbox.faults.latency = 0.1
        wait_for("notes being written", lambda: len(sandbox.objects(NOTES)) >= 100)
        _stop_promptly(worker)
        assert leased_by(push_db, "stop-notes") == 0
    finally:
        worker.kill()
        sandbox.faults.latency = 0
    assert len(sandbox.objects(NOTES)) < 3000


def test_sigterm_during_an_analytics_refresh(push_db: str, sandbox: Sandbox,
                                             private_redis: dict[str, Any],
                                             tmp_path: Path) -> None:
    fast(sandbox)
    seed_contacts(sandbox, [{"student_id": "AS1"}])
    blocker = psycopg.connect(push_db)  # the refresh waits for this lock as long as it is held
    # a refresh of our own, not committed: it holds the view's ACCESS EXCLUSIVE lock
    blocker.execute("REFRESH MATERIALIZED VIEW hubspot_sync.booking_analytics")
    worker = RunningWorker(env_for(push_db, sandbox, REDIS_URL=private_redis["url"]),
                           tmp_path / "analytics.log", "stop-analytics")
    try:
        wait_for("the refresh waiting on the lock", lambda: _count(
            push_db, "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = "
                     "'mockbook-worker' AND wait_event_type = 'Lock' "
                     "AND query LIKE '%refresh_analytics%'") == 1)
        _stop_promptly(worker)
        # the refresh was cancelled, not waited for: the lock is still held by the blocker
        assert blocker.info.transaction_status.name == "INTRANS"
    finally:
        blocker.rollback()
        blocker.close()
        worker.kill()


def test_sigterm_during_webhook_processing(push_db: str, sandbox: Sandbox) -> None:
    import re
    import signal

    from test_webhooks import SECRET, event, post

    from glue.sandbox import CONTACTS

    fast(sandbox)
    ids = seed_contacts(sandbox, [{"student_id": f"WS{i}"} for i in range(3000)])
    env = env_for(push_db, sandbox) | {"HUBSPOT_CLIENT_SECRET": SECRET,
                                       "MOCKBOOK_WORKER_PULL_SECONDS": "3600"}
    proc = push_helpers.mockbook(["worker", "--json", "--webhooks", "127.0.0.1:0"], env)
    try:
        port = None
        assert proc.stderr is not None
        for line in proc.stderr:
            found = re.search(r"webhook intake listening on 127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        assert port, "the worker did not start the intake"
        # keep reading its log, so a full pipe never blocks it
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        wait_for("the first pull", lambda: _count(
            push_db, "SELECT count(*) AS n FROM hubspot_sync.hubspot_contact_credits") == 3000)
        sandbox.faults.latency = 0.3  # each read of the processor: a slow portal
        url = f"http://127.0.0.1:{port}/webhooks/hubspot"
        for start in range(0, 3000, 100):  # 3,000 contact changes, 100 per delivery
            answer = post(url, [event(10_000 + i, ids[i], objectTypeId=CONTACTS,
                                      subscriptionType="object.propertyChange")
                                for i in range(start, start + 100)])
            assert answer.status == 200
        pending = ("SELECT count(*) AS n FROM hubspot_sync.webhook_events "
                   "WHERE processed_at IS NULL")
        wait_for("processing under way", lambda: _count(push_db, pending) < 3000)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not stop within {BOUND} s")
        assert proc.returncode == 0
        assert _count(push_db, pending) > 0  # stopped between batches, the rest kept for later
    finally:
        sandbox.faults.latency = 0
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_sigterm_during_a_push_backlog(push_db: str, sandbox: Sandbox,
                                       private_redis: dict[str, Any], tmp_path: Path) -> None:
    """A worker started on a backlog (1,500 bookings, their contacts: one full batch, were it
    not for the ramp) has rows done within its first batches, and a SIGTERM ends it after the
    HubSpot call in hand: the rest given back, due now, uncounted; nothing leased."""
    fast(sandbox)
    world = push_helpers.make_world(push_db, sandbox, students=1500, exams=2)
    push_helpers.book(push_db, [(s, world.exams[i % 2]) for i, s in enumerate(world.students)])
    sandbox.faults.latency = 0.1
    sandbox.faults.spare_portal_reads = True
    worker = RunningWorker(env_for(push_db, sandbox, REDIS_URL=private_redis["url"],
                                   MOCKBOOK_WORKER_PULL_SECONDS="3600"),
                           tmp_path / "push.log", "stop-push")
    done = "SELECT count(*) AS n FROM hubspot_sync.sync_queue WHERE done_at IS NOT NULL"
    try:
        wait_for("rows done", lambda: _count(push_db, done) >= 100)
        _stop_promptly(worker)
    finally:
        worker.kill()
        sandbox.faults.latency = 0
    assert leased_by(push_db, "stop-push") == 0
    left = query(push_db, "SELECT attempts, next_attempt_at <= now() AS due "
                          "FROM hubspot_sync.sync_queue WHERE done_at IS NULL")
    assert left, "the backlog was pushed to its end: the stop came too late to tell"
    assert all(r["due"] and r["attempts"] == 0 for r in left)
