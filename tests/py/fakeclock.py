"""A clock the test moves (glue/clock.py's seam), instead of sleeping while real time passes.

``FakeClock`` reads the real clocks plus an offset: time flows as usual (so rate limiters and
timeouts of the code under test behave as in production), and ``advance(s)`` jumps ``s``
seconds ahead at once. ``sleep(s)`` and ``wait(event, s)`` of code running on it advance the
clock instead of waiting, and are recorded (``sleeps``), so a test asserts on what the code
waited for, never on how long something took. ``call_at(delay, fn)`` runs ``fn`` once the clock
has moved ``delay`` seconds ahead (in the thread that moved it): an event that happens "later"
without a thread sleeping until then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from glue.clock import utcnow


class FakeClock:
    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()
        self._timers: list[tuple[float, Callable[[], object]]] = []

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def now(self) -> datetime:
        return utcnow(self)

    def advance(self, seconds: float) -> None:
        """Jump ``seconds`` ahead; run the timers that fell due (in this thread)."""
        with self._lock:
            self.offset += max(seconds, 0.0)
            now = self.monotonic()
            due = [t for t in self._timers if t[0] <= now]
            self._timers = [t for t in self._timers if t[0] > now]
        for _, fn in sorted(due, key=lambda t: t[0]):
            fn()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
        self.advance(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        self.sleep(seconds)
        return event.is_set()

    def call_at(self, delay: float, fn: Callable[[], object]) -> None:
        """Run ``fn`` when the clock has advanced ``delay`` seconds from now."""
        with self._lock:
            self._timers.append((self.monotonic() + delay, fn))
