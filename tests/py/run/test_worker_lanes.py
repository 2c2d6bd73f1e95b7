"""The worker's push is never starved: the pull and the audit notes run in a lane of their own
(glue.run.worker.SyncLane), so a notes call that hangs does not hold a booking back, a worker
restarted every few seconds while a long first pull runs still pushes, and a stop ends a hung
step within the documented bound (a HubSpot call's timeout)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pull_helpers
import push_helpers
import sandbox_fixtures
from pull_helpers import fast, seed_contacts, seed_exams
from push_helpers import env_for, pending, query
from test_worker import RunningWorker, in_hubspot, private_redis, wait_for

from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
__all__ = ["private_redis"]


def _contacts(url: str) -> int:
    return query(url, "SELECT count(*) AS n FROM hubspot_sync.hubspot_contact_credits")[0]["n"]


def test_a_hung_notes_step_does_not_hold_a_booking_back(
    push_db: str, sandbox: Sandbox, private_redis: dict[str, Any], tmp_path: Path
) -> None:
    fast(sandbox)
    exams = seed_exams(sandbox, [{"capacity": "20"}])
    seed_contacts(sandbox, [{"student_id": f"LN{i}", "cs_credits": "2"} for i in range(3)])
    env = env_for(push_db, sandbox, REDIS_URL=private_redis["url"],
                  MOCKBOOK_WORKER_PULL_SECONDS="1")
    worker = RunningWorker(env, tmp_path / "lanes.log", "wrk-lanes")
    blocker = psycopg.connect(push_db)  # superuser: holds a row lock the notes step needs
    try:
        wait_for("the first pull", lambda: _contacts(push_db) == 3)
        # a pending audit row (an exam's: marked without a note) locked by a transaction that
        # does not end: the next notes step waits for it for as long as it is held. The row is
        # committed before it is locked, so a notes step may mark it in between; then the lock
        # holds a row no step will touch again, and another row is taken
        for _ in range(5):
            (row,) = blocker.execute(
                "INSERT INTO hubspot_sync.supabase_audit_log (table_name, record_id, operation) "
                "SELECT 'hubspot_mock_exams', id, 'UPDATE' FROM hubspot_sync.hubspot_mock_exams "
                "LIMIT 1 RETURNING id").fetchone()
            blocker.commit()
            (marked,) = blocker.execute(
                "SELECT synced_to_hubspot_at FROM hubspot_sync.supabase_audit_log "
                "WHERE id = %s FOR UPDATE", (row,)).fetchone()
            if marked is None:
                break
            blocker.rollback()
        assert marked is None, "every row was marked before it could be locked"
        wait_for("the notes step waiting on the lock", lambda: query(
            push_db, "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = "
                     "'mockbook-worker' AND wait_event_type = 'Lock'")[0]["n"] == 1)
        booking = pull_helpers.book(push_db, "LN1", exams[0])
        # before, the push waited behind the notes step for as long as the lock was held
        wait_for("the booking in HubSpot while the notes step waits",
                 lambda: in_hubspot(sandbox, booking["booking_id"]))
        # its associations and its exam's total too (a stop would give back what is left)
        wait_for("the queue drained while the notes step waits", lambda: pending(push_db) == 0)
        assert not blocker.closed and blocker.info.transaction_status.name == "INTRANS"
    finally:
        blocker.rollback()
        blocker.close()
        assert worker.stop() == 0
        worker.kill()


def test_a_worker_restarted_every_few_seconds_still_pushes(
    push_db: str, sandbox: Sandbox, private_redis: dict[str, Any], tmp_path: Path
) -> None:
    # a portal whose first pull takes longer than the worker lives: before, every start pulled
    # first and was killed before its first push, and the outbox only grew
    fast(sandbox)
    exams = seed_exams(sandbox, [{"capacity": "500"}])
    students = [f"RS{i}" for i in range(12)]
    seed_contacts(sandbox, [{"student_id": s, "cs_credits": "9"} for s in students])
    env = env_for(push_db, sandbox, REDIS_URL=private_redis["url"])
    worker = RunningWorker(env, tmp_path / "first.log", "wrk-first")
    wait_for("the students", lambda: _contacts(push_db) == len(students))
    worker.kill()
    seed_contacts(sandbox, [{"student_id": f"BULK{i}"} for i in range(6000)])
    sandbox.faults.latency = 0.05  # each search page, each call: a slow portal
    pushed: list[int] = []
    for round_ in range(12):  # a worker killed again and again while the first pull runs
        booked = [pull_helpers.book(push_db, s, exams[0]) for s in students[round_:round_ + 1]]
        # the default name (host:pid:random), as systemd starts it: each start gives back what
        # the killed one had leased
        worker = RunningWorker(env, tmp_path / f"restart{round_}.log", None)
        try:
            # each life ends (SIGKILL) once its booking is in HubSpot and its push is logged,
            # however long a loaded machine takes to get there; the deadline only stops a hang
            wait_for("the worker's start", lambda w=worker: w.logged("start"))
            wait_for("the booking in HubSpot", lambda b=booked: all(
                in_hubspot(sandbox, x["booking_id"]) for x in b))
            wait_for("the push logged", lambda w=worker: w.logged("push"))
        finally:
            worker.kill()  # SIGKILL: nothing finishes
        pushed.append(sum(in_hubspot(sandbox, b["booking_id"]) for b in booked))
        # the push did not wait behind the pull: in this life no pull pass ended before it
        steps = [e["event"] for e in worker.events() if e.get("event") in ("push", "pull")]
        assert steps[0] == "push", (round_, steps)
    assert pushed == [1] * 12, pushed
    sandbox.faults.latency = 0
    # and the outbox drains: what the killed workers left leased is given back and pushed
    worker = RunningWorker(env, tmp_path / "last.log", None)
    try:
        wait_for("the outbox drained", lambda: pending(push_db) == 0)
    finally:
        worker.stop()
        worker.kill()
