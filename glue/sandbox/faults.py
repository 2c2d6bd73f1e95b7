"""Fault injection for the sandbox, settable at run time by a test.

One random draw per call decides its fate, from one seeded generator, so a test that sets
``seed`` and makes its calls one at a time sees the same faults on every run.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from typing import Any

from glue.clock import SYSTEM, Clock

ERROR = "error"
TIMEOUT = "timeout"
LOST_RESPONSE = "lost_response"
STORM = "storm"
OMITTED_RESULT = "omitted_result"


class Faults:
    """What goes wrong, per call.

    - ``error_rate``: fraction of calls answered with a HubSpot-shaped 500/502/503
      (nothing applied).
    - ``latency``: seconds added to every call before it is handled.
    - ``storm(seconds)``: every call gets a 429 for that long.
    - ``timeout_rate``: fraction of calls where the server waits ``timeout_seconds`` and then
      closes the connection without answering (nothing applied): longer than a client's timeout,
      the client times out; shorter, the call ends unanswered at once, whatever the client's
      timeout (a test then needs no short timeout that a loaded machine could reach).
    - ``lost_response_rate``: fraction of calls whose change IS applied, after which the
      connection is dropped with no response.
    - ``omit_results(n)``: the next n batch updates applied answer 207 without the first
      input's result, and without an error for it (what HubSpot's multi-status answers may do).
    - ``rewrite``: a callable ``(method, path, status, body) -> body`` applied to every answer
      once it is made (after the conformance check): what a proxy or a HubSpot bug could hand
      back instead, e.g. a property value that is not a string.
    - ``seed``: re-seeds the generator (reproducible fault sequences).
    - ``spare_portal_reads``: when True, the reads of the start-up portal check (schemas,
      properties, association labels: ``GET`` only) get no fault, storm or latency, so a test
      can aim its faults at the work that follows the check.
    """

    PORTAL_READS = re.compile(
        r"^/crm(-object-schemas)?/v3/(schemas|properties)(/|$)|^/crm/v4/associations/[^/]+/[^/]+/labels$"
    )

    def spared(self, method: str, path: str) -> bool:
        """True when this request escapes every fault (see ``spare_portal_reads``)."""
        return self.spare_portal_reads and method == "GET" and bool(self.PORTAL_READS.match(path))

    def __init__(self, seed: int | None = None, clock: Clock = SYSTEM) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seed = seed
        self._rng = random.Random(seed)
        self.reset()

    def reset(self) -> None:
        """No faults (the seed is kept and the generator restarted from it)."""
        self.error_rate = 0.0
        self.latency = 0.0
        self.timeout_rate = 0.0
        self.timeout_seconds = 5.0
        self.lost_response_rate = 0.0
        self.spare_portal_reads = False
        self.rewrite: Callable[[str, str, int, Any], Any] | None = None
        self.error_statuses: tuple[int, ...] = (500, 502, 503)
        self._storm_until = 0.0
        self._omitted = 0
        with self._lock:
            self._rng = random.Random(self._seed)

    @property
    def seed(self) -> int | None:
        return self._seed

    @seed.setter
    def seed(self, value: int | None) -> None:
        with self._lock:
            self._seed = value
            self._rng = random.Random(value)

    def omit_results(self, count: int) -> None:
        """The next ``count`` batch updates answer without their first input's result."""
        with self._lock:
            self._omitted = count

    def take_omitted_result(self) -> bool:
        with self._lock:
            if self._omitted <= 0:
                return False
            self._omitted -= 1
            return True

    def storm(self, seconds: float) -> None:
        """Answer every call with 429 for the next ``seconds`` (0 ends a storm)."""
        self._storm_until = self._clock.monotonic() + seconds

    def storm_remaining(self) -> float:
        return max(0.0, self._storm_until - self._clock.monotonic())

    def draw(self) -> tuple[str | None, int]:
        """Fate of one call: (fault kind or None, HTTP status for an ``error``)."""
        with self._lock:
            roll = self._rng.random()
            status = self._rng.choice(self.error_statuses) if self.error_statuses else 500
        edge = self.error_rate
        if roll < edge:
            return ERROR, status
        edge += self.timeout_rate
        if roll < edge:
            return TIMEOUT, 0
        edge += self.lost_response_rate
        if roll < edge:
            return LOST_RESPONSE, 0
        return None, 0
