"""Waiting for something another process or thread brings about (a subprocess listening, a
worker's pull, a key in Redis): ``wait_until`` looks every ``interval`` seconds until the check
holds. The interval is only how often it looks, and the timeout only stops a test that would
otherwise hang: neither is a claim about speed, and nothing is asserted about how long it took.
Time the code under test waits on is moved with a fake clock instead (tests/py/fakeclock.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from glue.clock import Clock, now_ms

T = TypeVar("T")


def wait_until(
    what: str, check: Callable[[], T], *, timeout: float = 120.0, interval: float = 0.02
) -> T:
    """``check()``'s first truthy value; AssertionError naming ``what`` if none came."""
    until = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > until:
            raise AssertionError(f"gave up waiting for {what} ({check})")
        time.sleep(interval)




def next_millisecond(clock: Clock) -> int:
    """Wait until ``clock`` is past the millisecond it reads now (HubSpot's property history is
    in milliseconds: two writes a test needs told apart must not share one); the new one."""
    start = now_ms(clock)
    return wait_until("the next millisecond", lambda: now_ms(clock) > start and now_ms(clock),
                      timeout=5.0, interval=0.001)
