"""The window of a HubSpot rate limit in one process (:class:`LocalWindow`), the protocol every
window keeps (:class:`Window`: the Redis one and the host's file keep it too), and how long a
caller waits while every token is held by a call in flight (:func:`poll_wait`). The limiter
(glue.hubspot.ratelimit) and the host's window (glue.hubspot.ratelimit_host) build on these.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class Window(Protocol):
    limit: int

    def try_acquire(self, member: str, limit: int | None = None) -> float:
        """Take a token now for call `member` (in flight until released) and return 0, or return
        the seconds to wait before one may be free. ``limit``: this grant's limit, when the
        headers say less is left than the window's own (HeaderBudget)."""

    def answered(self) -> int:
        """Our calls answered less than `window` ago (those in flight may not have reached
        HubSpot yet: not counted)."""

    def release(self, member: str) -> None:
        """Call `member` was answered: it counts until `window` from now."""


def poll_wait(window: float) -> float:
    """How long to wait when every token is held by a call in flight (its answer frees none
    sooner than `window` after it, but we cannot know when it comes)."""
    return min(0.05, window)


@dataclass
class LocalWindow:
    limit: int
    window: float
    clock: Callable[[], float] = time.monotonic
    _done: collections.deque = field(default_factory=collections.deque)  # answer times
    _in_flight: set = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def try_acquire(self, member: str, limit: int | None = None) -> float:
        with self._lock:
            now = self.clock()
            while self._done and self._done[0] <= now - self.window:
                self._done.popleft()
            if len(self._done) + len(self._in_flight) < (self.limit if limit is None else limit):
                self._in_flight.add(member)
                return 0.0
            if not self._done:
                return poll_wait(self.window)
            return max(self._done[0] + self.window - now, 0.001)

    def answered(self) -> int:
        with self._lock:
            now = self.clock()
            return sum(1 for t in self._done if t > now - self.window)

    def release(self, member: str) -> bool:
        """Count `member` from now; False when this window did not grant it."""
        with self._lock:
            if member not in self._in_flight:
                return False
            self._in_flight.discard(member)
            self._done.append(self.clock())
            return True
