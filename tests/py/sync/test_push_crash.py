"""Crash safety of the push: `mockbook push` runs as a subprocess
against a sandbox that sometimes applies a change and then drops the connection (lost response),
is killed with SIGKILL at random moments while bookings keep being made and cancelled, and is
restarted, more than 20 times. A final clean run must leave HubSpot with exactly one booking per
booking code, every booking with its hubspot_id, the queue empty, nothing dead-lettered, and
HubSpot's credit balances and exam totals equal to the database's.

What makes this hold: bookings are upserted by booking code (a replayed or half-done batch can
never create a second HubSpot booking), every write is idempotent, outbox rows are only marked
done together with the write-back of the ids, after HubSpot answered, and a killed push's rows
come back when its lease expires (the test moves the killed run's lease expiry to now instead of
waiting for it: the database's clock is now()).

The pushes share one rate-limit budget through Redis, as a deployment's glue processes do
(README, rate limiting): with per-process budgets, each of the twenty-odd pushes started within
half a minute would begin with an empty window while the sandbox's still holds its
predecessors' calls (up to 96 of its 100 per 10 s were measured), and be answered 429s that a
deployment (one push at a time, or several sharing Redis) does not see. A killed push's calls
in flight keep their tokens until their lease ends, as after a real crash."""

from __future__ import annotations

import os
import random
import signal
import uuid

import push_helpers
import redis
import sandbox_fixtures
from push_helpers import (
    book,
    bookings,
    contacts,
    env_for,
    hubspot_bookings,
    make_world,
    mockbook,
    pending,
    query,
)
from waiting import wait_until

from glue.hubspot.client import limiter_name
from glue.sandbox import CONTACTS, EXAMS, Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db

CREDITS = (
    "sj_credits",
    "cs_credits",
    "sjmini_credits",
    "mock_discussion_token",
    "shared_mock_credits",
)
KILLS = 20
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def _churn(url: str, world, rng: random.Random, booked: set[str]) -> None:
    """Some new bookings and a cancellation between two pushes: the queue keeps changing."""
    free = [s for s in world.students if s not in booked]
    fresh = rng.sample(free, min(3, len(free)))
    book(url, [(s, rng.choice(world.exams)) for s in fresh])
    booked.update(fresh)
    query(
        url,
        "SELECT hubspot_sync.cancel_booking(p_booking_id := booking_id) FROM "
        "(SELECT booking_id FROM hubspot_sync.hubspot_bookings WHERE is_active = 'Active' "
        "ORDER BY random() LIMIT 1) AS b",
    )


def test_killed_pushes_never_duplicate_or_lose_anything(push_db: str, sandbox: Sandbox) -> None:
    seed = int(os.environ.get("MOCKBOOK_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    world = make_world(push_db, sandbox, students=160, exams=3)
    first = world.students[:60]
    book(push_db, [(s, world.exams[i % 3]) for i, s in enumerate(first)])
    booked = set(first)
    sandbox.faults.seed = seed
    sandbox.faults.lost_response_rate = 0.15
    sandbox.faults.latency = 0.03
    sandbox.faults.spare_portal_reads = True  # the faults are for the push, not the check
    # A token of this test's own: its own Redis budget (limiter_name), not other tests'.
    sandbox.access_token = token = f"crash-{uuid.uuid4().hex}"
    redis_client = redis.Redis.from_url(REDIS_URL)
    redis_client.ping()  # Redis is part of the test environment: fail, never skip
    env = env_for(
        push_db,
        sandbox,
        HUBSPOT_ACCESS_TOKEN=token,
        REDIS_URL=REDIS_URL,
        MOCKBOOK_PUSH_BATCH_SIZE="20",
        MOCKBOOK_PUSH_LEASE_SECONDS="2",
        # Each SIGKILL counts an attempt on the rows its run had claimed (a kill cannot give them
        # back); on a loaded machine the oldest batch can be claimed by eight killed runs in a
        # row and be dead-lettered, as documented. What is tested here is duplicates and losses.
        MOCKBOOK_MAX_ATTEMPTS=str(4 * KILLS + 2),
    )

    kills = runs = 0
    while kills < KILLS:
        assert runs < 4 * KILLS, f"the pushes kept finishing before their kill (seed {seed})"
        _churn(push_db, world, rng, booked)
        before = len(sandbox.requests)
        proc = mockbook(["push", "--linger", "0"], env)
        runs += 1
        # Kill it at a random one of its writes (past the start-up check's reads), as that
        # write arrives at HubSpot or once HubSpot has answered it: a moment counted in calls,
        # so it lands mid-push however loaded the machine is.
        k, answered = rng.randint(1, 4), rng.random() < 0.5

        def reached(k=k, answered=answered, before=before, proc=proc) -> bool:
            writes = [r for r in sandbox.requests[before:] if r["method"] != "GET"]
            hit = len(writes) >= k and (not answered or writes[k - 1]["status"] is not None)
            return hit or proc.poll() is not None

        wait_until("the push's write to kill it at", reached, timeout=120)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=300)
        assert proc.returncode in (0, -signal.SIGKILL), f"push failed (seed {seed})"
        # The killed run's lease ends now (instead of in 2 s): the next run claims its rows.
        query(
            push_db,
            "UPDATE hubspot_sync.sync_queue SET lease_expires_at = now() "
            "WHERE done_at IS NULL AND lease_expires_at > now() RETURNING id",
        )

    # One clean run.
    sandbox.faults.lost_response_rate = 0.0
    final = mockbook(["push", "--linger", "5"], env)
    out, err = final.communicate(timeout=300)
    for key in redis_client.scan_iter(f"mockbook:ratelimit:{limiter_name(token)}*"):
        redis_client.delete(key)  # this test's budget
    assert final.returncode == 0, f"seed {seed}: {out}{err}"
    # The scenario really happened: answers were lost, and batches interrupted by a kill were
    # claimed again after their lease (their rows have more than one attempt).
    assert sandbox.stats["faults"]["lost_response"] > 0
    assert sandbox.stats["429"] == 0, f"seed {seed}"  # the shared budget held every restart back
    assert (
        query(push_db, "SELECT count(*) AS n FROM hubspot_sync.sync_queue WHERE attempts > 1")[0][
            "n"
        ]
        > 0
    ), f"seed {seed}"

    assert pending(push_db) == 0, f"seed {seed}"
    errors = query(push_db, "SELECT * FROM hubspot_sync.sync_errors ORDER BY id LIMIT 3")
    assert errors == [], f"seed {seed}: {errors}"
    remote = hubspot_bookings(sandbox)  # asserts exactly one HubSpot booking per booking code
    local = bookings(push_db)
    assert len(local) == len(booked) and len(remote) == len(local), f"seed {seed}"
    for b in local:
        obj = remote[b["booking_id"]]
        assert b["hubspot_id"] == obj["id"], f"seed {seed}: {b['booking_id']}"
        assert obj["properties"]["is_active"] == b["is_active"]
    for c in contacts(push_db):
        props = sandbox.get(CONTACTS, c["hubspot_id"])["properties"]
        assert {k: props[k] for k in CREDITS} == {k: str(c[k]) for k in CREDITS}, f"seed {seed}"
    for e in query(
        push_db, "SELECT hubspot_id, total_bookings FROM hubspot_sync.hubspot_mock_exams"
    ):
        remote_total = sandbox.get(EXAMS, e["hubspot_id"])["properties"]["total_bookings"]
        assert remote_total == str(e["total_bookings"]), f"seed {seed}"
