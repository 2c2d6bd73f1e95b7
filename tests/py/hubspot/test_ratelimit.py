"""The HubSpot rate limiter: no rolling window ever holds more than `limit` requests, within one
process and across processes sharing Redis."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time
import uuid

import pytest
import redis
from fakeclock import FakeClock
from waiting import wait_until

from glue.hubspot.client import HubSpotClient, limiter_name
from glue.hubspot.ratelimit import (
    DailyBudget,
    DailyBudgetExhausted,
    RateLimiter,
    ShareLimiter,
    build_limiter,
)
from glue.hubspot.ratewindow import LocalWindow
from glue.sandbox import BOOKINGS, Sandbox
from glue.sandbox.ratelimit import RateLimiter as PortalLimiter

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, t in enumerate(stamps):
        while t - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_local_limiter_never_exceeds_limit_in_any_window() -> None:
    """Four threads, 60 requests, 20 per second, on a fake clock: the limiter's waits move it."""
    clock = FakeClock()
    limiter = RateLimiter(LocalWindow(20, 1.0 + 0.05, clock=clock.monotonic), DailyBudget(10_000),
                          sleep=clock.sleep)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(15):
            limiter.acquire()
            with lock:
                stamps.append(clock.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) == 60
    assert max_in_window(stamps, 1.0) <= 20
    assert limiter.waits > 0 and clock.sleeps  # 60 requests at 20/s had to wait


def _grants(limiter_args: dict, n: int, out) -> None:
    """Each call is stamped while it holds its token, as the HTTP request is made: after its
    grant, before its answer. A stamp taken once the hold is left would be late by however long
    the process waits for a core, and a busy host would read that as a crowded window."""
    limiter = build_limiter(limit=15, window=1.0, daily=10_000, margin=0.05, **limiter_args)
    for _ in range(n):
        with limiter.hold():
            out.put(time.time())


def grant_times(limiter_args: dict, processes: int = 3, each: int = 15) -> list[float]:
    """When the calls were granted: `processes` forked processes, each acquiring `each` calls
    from its own build_limiter(limit=15 a second, **limiter_args)."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()
    procs = [ctx.Process(target=_grants, args=(limiter_args, each, out))
             for _ in range(processes)]
    for p in procs:
        p.start()
    stamps = [out.get(timeout=30) for _ in range(processes * each)]
    for p in procs:
        p.join(timeout=30)
    return stamps


def test_redis_limiter_is_shared_by_processes() -> None:
    key = f"test-{os.getpid()}-{time.time_ns()}"
    stamps = grant_times({"redis_url": REDIS_URL, "name": key})
    # Three processes, one shared budget of 15 per second (on the Redis server's clock): no
    # second of the 45 grants holds more than 15 of them (so they spread over 3 seconds).
    assert max_in_window(stamps, 1.0) <= 15
    redis.Redis.from_url(REDIS_URL).delete(f"mockbook:ratelimit:{key}")


def test_daily_budget_stops_sending() -> None:
    limiter = build_limiter(limit=100, window=10, daily=3, redis_url=None)
    for _ in range(3):
        limiter.acquire()
    with pytest.raises(DailyBudgetExhausted):
        limiter.acquire()


def test_unreachable_redis_falls_back_to_local(caplog) -> None:
    limiter = build_limiter(limit=5, window=1, daily=100, redis_url="redis://127.0.0.1:1/0")
    assert limiter.acquire() == 0
    assert "Redis unavailable" in caplog.text


def test_redis_going_away_falls_back_to_local_and_back(caplog) -> None:
    """A Redis restart must not stop the sync: while Redis does not answer the limiter limits per
    process (one warning), and it shares the budget again once Redis answers."""
    key = f"fallback-{os.getpid()}-{time.time_ns()}"
    limiter = build_limiter(limit=50, window=1.0, daily=1_000, redis_url=REDIS_URL, name=key)
    shared = limiter.window.shared
    live_client = shared.client
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    shared.client = dead
    limiter.daily.shared.client = dead
    for _ in range(3):
        assert limiter.acquire() == 0
    assert caplog.text.count("Redis unavailable for the rate limiter") == 1
    shared.client = live_client
    limiter.daily.shared.client = live_client
    limiter.window._retry_at = time.monotonic()  # probe now instead of in 5 s
    limiter.acquire()
    assert live_client.zcard(f"mockbook:ratelimit:{key}") == 1  # counted in Redis again
    live_client.delete(f"mockbook:ratelimit:{key}")


def test_a_call_counts_until_a_window_after_its_answer() -> None:
    """HubSpot counts a call when it arrives, not when our limiter granted it: a call held up
    between the grant and the send (a process off the CPU) must keep its token until a window
    after its answer, else the next window's grants land in the same HubSpot window (the 429 in
    test_push_ratelimit under load). Fake clock: the portal's limiter runs on the same one."""
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(LocalWindow(2, 1.0, clock=lambda: now[0]), DailyBudget(1_000),
                          sleep=advance)
    portal = PortalLimiter(rate_limit=2, rate_window=1.0, daily_limit=None, search_rate=None,
                           clock=lambda: now[0])
    with limiter.hold():  # the slow call: granted at 0 ...
        with limiter.hold():  # a fast one, granted, sent and answered at 0
            assert portal.acquire().ok
        advance(0.7)  # ... and arriving at 0.7
        assert portal.acquire().ok
    for _ in range(3):
        with limiter.hold():
            assert portal.acquire().ok, f"429 at t={now[0]}"
    # Granted at 1.0 (the fast call's answer + 1), 1.7 (the slow one's), 2.0: with the grant
    # counted instead, the first two would both go at 1.0 and the portal refuse the second.
    assert now[0] == pytest.approx(2.0)


def test_redis_shared_calls_delayed_before_the_send_never_see_a_429() -> None:
    """The same through the real seam: two clients ("processes") share one Redis budget against
    the sandbox; one call is held up between its grant and its send (injected), and the
    other client's calls of the next window must not land in the window where it arrived. (The
    limiter runs on the Redis server's clock, so this one waits in real time: the delayed call
    is sent once the other client's second call, a window later, has been answered.)"""
    token = f"rl-delay-{uuid.uuid4().hex}"
    name = limiter_name(token)
    with Sandbox(access_token=token, rate_limit=2, rate_window=1.0, setup=True) as sb:

        def client() -> HubSpotClient:
            limiter = build_limiter(limit=2, window=1.0, daily=1_000, redis_url=REDIS_URL,
                                    name=name)
            return HubSpotClient(access_token=token, base_url=sb.base_url, limiter=limiter,
                                 window_seconds=1.0)

        slow, fast = client(), client()
        granted = threading.Event()

        def answered(requests: list[dict]) -> bool:
            return sum(1 for r in requests if r["status"] is not None) >= 2

        def delayed(*args, **kwargs):
            granted.set()
            assert sb.wait_for(answered, timeout=30)  # held up between its grant and its send
            return slow.schemas_api.get_by_id_with_http_info(*args, **kwargs)

        thread = threading.Thread(target=slow.call, args=("schema (slow)", delayed, BOOKINGS))
        thread.start()
        assert granted.wait(10)
        for _ in range(3):
            fast.schema(BOOKINGS)
        thread.join()
        stats = sb.stats
        assert stats["calls"] == 4 and stats["429"] == 0, stats
    redis.Redis.from_url(REDIS_URL).delete(f"mockbook:ratelimit:{name}")


def test_a_share_leaves_the_rest_of_the_budget_to_the_others() -> None:
    """The worker's sync lane (pull, notes) calls through a ShareLimiter of 30 %: a notes
    backlog spends at most 3 of 10 calls a window, so the push always finds 7 (its lag at 20
    bookings/s with 50,000 notes waiting went from a p95 of 4.3 s to 1.4 s: bench B6b)."""
    now = [0.0]
    waits: list[float] = []

    def advance(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    general = RateLimiter(LocalWindow(10, 1.0, clock=lambda: now[0]), DailyBudget(1_000),
                          sleep=advance)
    share = RateLimiter(LocalWindow(3, 1.0, clock=lambda: now[0]), DailyBudget(1_000),
                        sleep=advance)
    lane = ShareLimiter(share, general)
    for _ in range(3):
        assert lane.acquire() == 0.0
    for _ in range(7):  # the push, within the same window: never waits
        assert general.acquire() == 0.0
    assert waits == []
    assert lane.acquire() > 0 and lane.waits == 1  # the lane's 4th waits for its share
    assert now[0] >= 1.0


def waiting_in(thread: threading.Thread, function: str) -> bool:
    """Whether ``thread`` is inside ``function`` now (its current stack)."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == function:
            return True
        frame = frame.f_back
    return False


def test_until_hubspot_answers_once_one_call_goes_at_a_time() -> None:
    """Calls sent together before any answer could overrun a budget other integrations of the
    portal have spent (only the first answer's headers say so): the first call goes alone, the
    others follow its answer, and then go together."""
    limiter = RateLimiter(LocalWindow(100, 10.0), DailyBudget(10_000))
    inside, most, lock = 0, [], threading.Lock()
    first_in = threading.Event()
    release_first = threading.Event()

    def call(n: int) -> None:
        nonlocal inside
        with limiter.hold():
            with lock:
                inside += 1
                most.append(inside)
            if n == 0:
                first_in.set()
                release_first.wait(30)
            with lock:
                inside -= 1

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert first_in.wait(30)
    others = [threading.Thread(target=call, args=(n,)) for n in range(1, 9)]
    for t in others:
        t.start()
    # the others wait for the first answer: each is seen waiting for it (its stack is in the
    # limiter's wait for the first answer), and none has entered while the first is inside
    wait_until("the others to wait for the first answer",
               lambda: all(waiting_in(t, "_first_answer_wait") for t in others), timeout=30)
    assert most == [1]
    release_first.set()
    for t in [first, *others]:
        t.join(30)
        assert not t.is_alive()
    assert len(most) == 9
