"""Time behind one small seam: wall time, monotonic time and waiting.

A component that waits or stamps times (the HubSpot sandbox, the audit-note writer) takes a
``clock`` argument that defaults to :data:`SYSTEM`. A test passes a clock it controls instead
(``tests/py/fakeclock.py``) and moves time forward at once rather than sleeping through it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch (``time.time``)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (``time.monotonic``)."""

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass."""

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Let up to ``seconds`` pass or until ``event`` is set; whether it is set."""


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(seconds)


SYSTEM: Clock = SystemClock()


def utcnow(clock: Clock) -> datetime:
    """The clock's wall time as an aware UTC datetime."""
    return datetime.fromtimestamp(clock.time(), UTC)


def now_ms(clock: Clock) -> int:
    """The clock's wall time in epoch milliseconds."""
    return int(clock.time() * 1000)
