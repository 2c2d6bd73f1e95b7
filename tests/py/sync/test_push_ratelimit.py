"""Two `mockbook push` processes share HubSpot's rate limit through Redis: against a sandbox
enforcing a rolling window they never get a 429, and together they
deliver every change exactly once in effect. The window is scaled down (10 requests per 1 s
instead of 100 per 10 s) to keep the test short; the limiter is the same code."""

from __future__ import annotations

import json
import os
import uuid

import psycopg
import push_helpers
import redis
from push_helpers import (
    book,
    bookings,
    calls,
    env_for,
    hubspot_bookings,
    make_world,
    mockbook,
    pending,
)
from waiting import wait_until

from glue.hubspot.client import limiter_name
from glue.sandbox import BOOKINGS, Sandbox

push_db = push_helpers.push_db

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT, WINDOW = 10, 1.0


def test_two_pushers_share_the_budget_and_never_see_a_429(push_db: str) -> None:
    token = f"rl-{uuid.uuid4().hex}"  # a budget (Redis key) of this test's own
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # Redis is part of the test environment: fail, never skip
    with Sandbox(access_token=token, rate_limit=LIMIT, rate_window=WINDOW, setup=True) as sb:
        world = make_world(push_db, sb, students=200, exams=2)
        book(push_db, [(s, world.exams[i % 2]) for i, s in enumerate(world.students)])
        rows = push_helpers.query(
            push_db, "SELECT count(*) AS n FROM hubspot_sync.sync_queue WHERE done_at IS NULL"
        )[0]["n"]
        env = env_for(
            push_db,
            sb,
            HUBSPOT_ACCESS_TOKEN=token,
            REDIS_URL=REDIS_URL,
            HUBSPOT_RATE_LIMIT=str(LIMIT),
            HUBSPOT_RATE_WINDOW_SECONDS=str(WINDOW),
            MOCKBOOK_PUSH_BATCH_SIZE="30",
        )
        # Both start before either claims a row: the outbox is locked until both wait for it
        # (a process that starts seconds late on a loaded machine would otherwise find the
        # other one done). Only a gate: what follows is the processes' own.
        gate = psycopg.connect(push_db)
        gate.execute("LOCK TABLE hubspot_sync.sync_queue IN ACCESS EXCLUSIVE MODE")
        try:
            procs = [mockbook(["push", "--json", "--linger", "1"], env) for _ in range(2)]

            def both_waiting() -> bool:
                if any(p.poll() is not None for p in procs):
                    return True  # one ended: its output tells why (asserted below)
                return push_helpers.query(
                    push_db, "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type "
                    "= 'Lock' AND query LIKE %s", ("%claim_sync_batch%",))[0]["n"] >= 2

            wait_until("both pushers waiting for the outbox", both_waiting)
        finally:
            gate.close()
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        outs = []
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            outs.append(json.loads(out))

        stats = sb.stats
        assert stats["429"] == 0, stats
        assert sb.conformance_failures == [] and sb.errors == []
        assert all(o["rate_limited"] == 0 for o in outs)
        # Both worked, both waited for the shared budget, and together they sent everything.
        assert all(o["sent"] > 0 for o in outs), outs
        assert sum(o["rate_limit_waits"] for o in outs) > 0
        assert sum(o["rows_done"] for o in outs) == rows
        assert pending(push_db) == 0
        assert sorted(hubspot_bookings(sb)) == sorted(b["booking_id"] for b in bookings(push_db))
        # No window of the sandbox's saw more than LIMIT calls (so: no 429 could happen), and
        # the calls did need more than one window (the limiter held the processes back).
        times = sorted(r["time"] for r in sb.requests)
        assert max(sum(1 for t in times if s <= t < s + WINDOW) for s in times) <= LIMIT
        total_calls = sum(o["calls"] for o in outs)
        assert total_calls == stats["calls"] > 2 * LIMIT
        upserts = calls(sb, "/batch/upsert", BOOKINGS)
        assert all(len(r["json"]["inputs"]) <= 100 for r in upserts)
    client.delete(f"mockbook:ratelimit:{limiter_name(token)}")
