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

T = TypeVar("T")


def wait_until(
    what: str, check: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.02
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


