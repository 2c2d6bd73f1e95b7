"""`mockbook worker` as a subprocess against the HubSpot sandbox and a
private redis-server: bookings committed reach HubSpot within seconds, woken by the outbox's
high-water mark (no NOTIFY; the poll interval stays at its 5 s default); the Redis keys follow; it
survives the database dropping every connection of its application_name (pg_terminate_backend) in
the middle of a push, and a Redis restart that loses every key; SIGTERM during a batch ends it after
the HubSpot call in hand, exits 0 and leaves nothing leased.

Speed is measured and printed (run with -s to see it), never asserted: the deadlines are generous.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pull_helpers
import push_helpers
import pytest
import redis
import sandbox_fixtures
from pull_helpers import fast, seed_contacts, seed_exams
from push_helpers import ROOT, env_for, pending, query
from test_cache import free_port, start_redis
from waiting import wait_until

from glue.sandbox import BOOKINGS, Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

DEADLINE = 120.0  # seconds: only stops a hung test (the measured figures are printed, not asserted)


def wait_for(what: str, check: Callable[[], Any], deadline: float = DEADLINE) -> Any:
    return wait_until(what, check, timeout=deadline)


class RunningWorker:
    """A `mockbook worker` subprocess whose log (JSON lines: stderr is not a terminal) goes to
    a file."""

    def __init__(self, env: dict[str, str], log_path: Path, name: str | None) -> None:
        """``name`` None: the worker's default name (host:pid:random)."""
        self.name = name
        self.log_path = log_path
        full = {**os.environ, **env}
        full.pop("MOCKBOOK_SCHEMA_SOURCE", None)
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from glue.cli import main; main()", "worker",
             *(["--name", name] if name else [])],
            env=full,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def events(self) -> list[dict]:
        out = []
        for line in self.log_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"msg": line})
        return out

    def logged(self, event: str) -> list[dict]:
        return [e for e in self.events() if e.get("event") == event]

    def stop(self, timeout: float = DEADLINE) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A redis-server of this test's own (it is restarted by the test): {port, proc, url}."""
    port = free_port()
    state = {
        "port": port,
        "proc": start_redis(port, tmp_path),
        "url": f"redis://127.0.0.1:{port}/0",
    }
    yield state
    state["proc"].terminate()
    state["proc"].wait(10)


@pytest.fixture
def world(push_db: str, sandbox: Sandbox) -> dict[str, Any]:
    """Two exams and twelve students, in HubSpot only: the worker's first pull imports them."""
    fast(sandbox)
    exams = seed_exams(sandbox, [{"capacity": "20"}, {"capacity": "20"}])
    students = [f"WRK{i}" for i in range(12)]
    seed_contacts(sandbox, [{"student_id": s, "cs_credits": "2"} for s in students])
    return {"exams": exams, "students": students}


def start(push_db: str, sb: Sandbox, redis_url: str, tmp_path: Path, name: str) -> RunningWorker:
    env = env_for(
        push_db,
        sb,
        REDIS_URL=redis_url,
        HUBSPOT_SEARCH_RATE="50",
        MOCKBOOK_PUSH_LEASE_SECONDS="30",
    )
    worker = RunningWorker(env, tmp_path / f"{name}.log", name)
    # started: its first pull imported the students (and it listens from then on)
    wait_for(
        "the first pull",
        lambda: (
            query(push_db, "SELECT count(*) AS n FROM hubspot_sync.hubspot_contact_credits")[0]["n"]
            == 12
            or worker.proc.poll() is not None
        ),
    )
    assert worker.proc.poll() is None, worker.log_path.read_text()
    return worker


def in_hubspot(sb: Sandbox, code: str) -> bool:
    found = sb.get_by(BOOKINGS, "booking_id", code)
    return found is not None and not found.get("archived")


def book_and_measure(
    url: str, sb: Sandbox, r: redis.Redis, student: str, exam: str
) -> tuple[str, float, float]:
    """Book; (booking code, seconds until the Redis seats changed, seconds until in HubSpot)."""
    before = r.get(f"capacity:{exam}")
    booking = pull_helpers.book(url, student, exam)  # returns after the commit
    committed = time.monotonic()
    wait_for("the Redis seats", lambda: r.get(f"capacity:{exam}") != before)
    cache_lag = time.monotonic() - committed
    wait_for("the booking in HubSpot", lambda: in_hubspot(sb, booking["booking_id"]))
    return booking["booking_id"], cache_lag, time.monotonic() - committed


def seats(url: str, exam: str) -> str:
    row = query(
        url,
        "SELECT greatest(capacity - total_bookings, 0) AS n FROM hubspot_sync.hubspot_mock_exams "
        "WHERE hubspot_id = %s",
        (exam,),
    )[0]
    return str(row["n"])


def leased_by(url: str, name: str) -> int:
    return query(
        url,
        "SELECT count(*) AS n FROM hubspot_sync.sync_queue "
        "WHERE lease_owner = %s AND done_at IS NULL",
        (name,),
    )[0]["n"]


def test_commits_reach_hubspot_within_seconds_and_sigterm_gives_back_the_batch(
    push_db: str, sandbox: Sandbox, world, private_redis, tmp_path: Path
) -> None:
    name = "test-worker-a"
    worker = start(push_db, sandbox, private_redis["url"], tmp_path, name)
    r = redis.Redis.from_url(private_redis["url"], decode_responses=True)
    try:
        exam = world["exams"][0]
        wait_for("the keys", lambda: r.get(f"capacity:{exam}") == "20")
        cache_lags, push_lags = [], []
        for student in world["students"][:6]:
            _, cache_lag, push_lag = book_and_measure(push_db, sandbox, r, student, exam)
            cache_lags.append(cache_lag)
            push_lags.append(push_lag)
        print(
            f"\nworker lag over {len(push_lags)} bookings, commit -> HubSpot: "
            f"median {statistics.median(push_lags):.3f} s, max {max(push_lags):.3f} s; "
            f"commit -> Redis seats: median {statistics.median(cache_lags):.3f} s, "
            f"max {max(cache_lags):.3f} s (poll interval 5 s, debounce 0.3 s)"
        )
        assert r.get(f"capacity:{exam}") == "14" == seats(push_db, exam)
        assert r.get(f"exam:{exam}:bookings") == "6"
        wait_for("the queue drained", lambda: pending(push_db) == 0)  # the batch's last calls

        # SIGTERM while a batch is in flight (HubSpot answering slowly): the call in hand is
        # answered and written back, the rest of the batch given back, due now, its attempt
        # not counted: nothing stays leased, nothing waits for a lease to run out.
        sandbox.faults.latency = 0.5
        pull_helpers.book(push_db, world["students"][6], exam)
        wait_for("a batch in flight", lambda: leased_by(push_db, name))
        assert worker.stop() == 0, worker.log_path.read_text()
        assert leased_by(push_db, name) == 0
        left = query(push_db, "SELECT attempts, next_attempt_at <= now() AS due "
                              "FROM hubspot_sync.sync_queue WHERE done_at IS NULL")
        assert all(r["attempts"] == 0 and r["due"] for r in left), left
        assert worker.logged("signal") and worker.logged("stop")
    finally:
        sandbox.faults.latency = 0
        worker.kill()
        r.close()


def test_database_and_redis_restarts_during_work(
    push_db: str, sandbox: Sandbox, world, private_redis, tmp_path: Path
) -> None:
    name = "test-worker-b"
    worker = start(push_db, sandbox, private_redis["url"], tmp_path, name)
    r = redis.Redis.from_url(private_redis["url"], decode_responses=True)
    students = iter(world["students"])
    exam, other = world["exams"]
    try:
        book_and_measure(push_db, sandbox, r, next(students), exam)

        # The database drops every connection of the worker in the middle of a push.
        sandbox.faults.latency = 0.5
        codes = [pull_helpers.book(push_db, next(students), exam)["booking_id"] for _ in range(3)]
        wait_for("a batch in flight", lambda: leased_by(push_db, name))
        with psycopg.connect(push_db, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'mockbook-worker' AND datname = current_database()"
            ).fetchone()[0]
        assert killed >= 2  # the LISTEN connection, the cache connection, the pool's
        sandbox.faults.latency = 0
        wait_for("the reconnection", lambda: worker.logged("reconnected"))
        wait_for(
            "the interrupted batch in HubSpot", lambda: all(in_hubspot(sandbox, c) for c in codes)
        )
        wait_for("the queue drained", lambda: pending(push_db) == 0)
        # and it keeps going: wake-ups, cache and push after the reconnection
        _, cache_lag, push_lag = book_and_measure(push_db, sandbox, r, next(students), other)
        print(f"\nafter the reconnection: Redis {cache_lag:.3f} s, HubSpot {push_lag:.3f} s")
        assert worker.logged("database_lost")

        # Redis restarts empty while bookings go on: pushes carry on (per-process rate limit),
        # and the keys are rebuilt, with the seats taken while it was away.
        private_redis["proc"].terminate()
        private_redis["proc"].wait(10)
        codes = [pull_helpers.book(push_db, next(students), other)["booking_id"] for _ in range(2)]
        wait_for("pushed without Redis", lambda: all(in_hubspot(sandbox, c) for c in codes))
        private_redis["proc"] = start_redis(private_redis["port"], tmp_path)
        fresh = redis.Redis(port=private_redis["port"], decode_responses=True)
        wait_for(
            "the keys rebuilt",
            lambda: (
                fresh.get(f"capacity:{other}") == seats(push_db, other)
                and fresh.get(f"capacity:{exam}") == seats(push_db, exam)
            ),
        )
        assert fresh.get(f"capacity:{other}") == "17"
        assert fresh.get("user:exams:available") is not None
        fresh.close()

        assert worker.stop() == 0, worker.log_path.read_text()
        assert leased_by(push_db, name) == 0
        assert pending(push_db) == 0
        assert len(push_helpers.hubspot_bookings(sandbox)) == 7
    except BaseException:
        print(worker.log_path.read_text()[-5000:])
        raise
    finally:
        sandbox.faults.latency = 0
        worker.kill()
        r.close()


def test_a_backlog_is_pushed_once_the_start_up_check_passes_again_not_at_the_next_poll(
    push_db: str, sandbox: Sandbox, world: dict[str, Any], private_redis: dict[str, Any],
    tmp_path: Path,
) -> None:
    # A worker started on a backlog while HubSpot answers 5xx: once HubSpot answers again, the
    # check is made again when its backoff allows and the backlog pushed, with no commit to wake
    # it (before, only the next poll did: here an hour away)
    first = start(push_db, sandbox, private_redis["url"], tmp_path, "wrk-pull")
    assert first.stop() == 0
    booking = pull_helpers.book(push_db, world["students"][0], world["exams"][0])
    sandbox.faults.error_rate = 1.0
    env = env_for(push_db, sandbox, REDIS_URL=private_redis["url"],
                  HUBSPOT_SEARCH_RATE="50", MOCKBOOK_PUSH_LEASE_SECONDS="30",
                  MOCKBOOK_WORKER_POLL_SECONDS="3600", MOCKBOOK_WORKER_PULL_SECONDS="3600")
    worker = RunningWorker(env, tmp_path / "backlog.log", "wrk-backlog")
    try:
        wait_for("the worker saying it waits", lambda: worker.logged("hubspot_down")
                 or worker.proc.poll() is not None)
        assert worker.proc.poll() is None, worker.log_path.read_text()
        sandbox.faults.error_rate = 0.0
        wait_for("the backlog in HubSpot", lambda: in_hubspot(sandbox, booking["booking_id"]))
        assert worker.stop() == 0
    finally:
        worker.kill()


def test_hubspot_answering_5xx_at_start_up_is_waited_out_not_a_configuration_error(
    push_db: str, sandbox: Sandbox, world: dict[str, Any], private_redis: dict[str, Any],
    tmp_path: Path,
) -> None:
    # HubSpot answers every call with a 500/502/503 when the worker starts: before, the
    # start-up check took it for a configuration error and the worker exited 2
    sandbox.faults.error_rate = 1.0
    env = env_for(push_db, sandbox, REDIS_URL=private_redis["url"],
                  HUBSPOT_SEARCH_RATE="50", MOCKBOOK_PUSH_LEASE_SECONDS="30")
    worker = RunningWorker(env, tmp_path / "down.log", "wrk-down")
    try:
        wait_for("the worker saying it waits", lambda: worker.logged("hubspot_down")
                 or worker.proc.poll() is not None)
        assert worker.proc.poll() is None, worker.log_path.read_text()
        assert "waiting, checking again" in worker.logged("hubspot_down")[0]["msg"]
        assert not worker.logged("config_error")
        sandbox.faults.error_rate = 0.0  # HubSpot is back: the worker starts working
        wait_for("the first pull", lambda: query(
            push_db, "SELECT count(*) AS n FROM hubspot_sync.hubspot_contact_credits"
        )[0]["n"] == 12)
        booking = pull_helpers.book(push_db, world["students"][0], world["exams"][0])
        wait_for("the booking in HubSpot", lambda: in_hubspot(sandbox, booking["booking_id"]))
        assert worker.stop() == 0
    finally:
        worker.kill()
