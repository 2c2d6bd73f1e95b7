"""The rate limiter shared by the processes of one host through a file (HostWindow: the worker's
when Redis is not configured): a worker started after another one stopped or was killed counts
that one's calls until a window after their answers, and no longer."""

from __future__ import annotations

import json
import os

from test_ratelimit import grant_times, max_in_window

from glue.hubspot.client import HubSpotClient
from glue.hubspot.ratelimit import DailyBudget, RateLimiter
from glue.hubspot.ratelimit_host import HostWindow
from glue.hubspot.ratewindow import LocalWindow
from glue.sandbox import BOOKINGS, Sandbox


def test_host_limiter_is_shared_by_processes(tmp_path) -> None:
    stamps = grant_times({"redis_url": None, "host_path": str(tmp_path / "window.json")})
    # three processes, one budget of 15 per second: no second holds more than 15 grants
    assert max_in_window(stamps, 1.0) <= 15


def test_the_calls_of_a_process_that_stopped_count_until_a_window_after_their_answer(
    tmp_path,
) -> None:
    now = [100.0]
    path = tmp_path / "window.json"
    before = HostWindow(path, 3, 10.0, fallback=LocalWindow(3, 10.0), clock=lambda: now[0])
    for n in range(3):
        assert before.try_acquire(f"call{n}") == 0
        before.release(f"call{n}")
        now[0] += 1.0
    # the next process (the same file): the budget is spent until the first call's answer + 10
    after = HostWindow(path, 3, 10.0, fallback=LocalWindow(3, 10.0), clock=lambda: now[0])
    assert after.answered() == 3
    assert after.try_acquire("next") == 7.0
    now[0] = 110.0
    assert after.try_acquire("next") == 0


def test_a_call_in_flight_of_a_killed_process_counts_from_when_it_is_found(tmp_path) -> None:
    """A process killed with a call in flight never answers it: the call counts as answered
    when the next process finds its process gone (HubSpot saw it before), not forever."""
    now = [50.0]
    path = tmp_path / "window.json"
    gone = 2**22 + 12345  # above any pid_max: no such process
    path.write_text(json.dumps({"killed": [49.0, gone]}))
    window = HostWindow(path, 1, 10.0, fallback=LocalWindow(1, 10.0), clock=lambda: now[0],
                        alive=lambda pid: pid == os.getpid())
    assert window.try_acquire("mine") == 10.0
    assert json.loads(path.read_text()) == {"killed": [50.0, 0]}
    now[0] = 60.0
    assert window.try_acquire("mine") == 0


def test_a_worker_after_a_killed_one_sends_without_a_429(tmp_path) -> None:
    """Through the real seam against the sandbox's limit: a first client spends the whole
    window and is dropped (a killed worker); a second one using the same file sends its next
    call once the first one's calls have left the window, not a window after its own start,
    and HubSpot never answers 429."""
    token = "host-shared-token"
    path = tmp_path / "window.json"
    with Sandbox(access_token=token, rate_limit=4, rate_window=1.0, setup=True) as sb:

        def client() -> HubSpotClient:
            limiter = RateLimiter(HostWindow(path, 4, 1.05, fallback=LocalWindow(4, 1.05)),
                                  DailyBudget(1_000))
            return HubSpotClient(access_token=token, base_url=sb.base_url, limiter=limiter,
                                 window_seconds=1.0)

        first = client()
        for _ in range(4):
            first.schema(BOOKINGS)
        second = client()
        for _ in range(4):
            second.schema(BOOKINGS)
        stats = sb.stats
        assert stats["calls"] == 8 and stats["429"] == 0, stats
