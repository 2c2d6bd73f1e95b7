"""Sandbox-side enforcement of HubSpot's rate limits (rolling windows, plus a daily budget).

Refused calls do not consume budget. The headers HubSpot sends on every answer are built here.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
SECONDLY = "SECONDLY"
DAILY = "DAILY"
_UNSET: Any = object()


class RollingWindow:
    """At most ``limit`` events in any ``window`` seconds."""

    def __init__(self, limit: int | None, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self._events and self._events[0] <= now - self.window:
            self._events.popleft()

    def available(self, now: float) -> bool:
        self._trim(now)
        return self.limit is None or len(self._events) < self.limit

    def retry_after(self, now: float) -> float:
        """Seconds until one more event fits."""
        self._trim(now)
        if self.limit is None or len(self._events) < self.limit:
            return 0.0
        return max(0.0, self._events[len(self._events) - self.limit] + self.window - now)

    def add(self, now: float) -> None:
        self._events.append(now)

    def remaining(self, now: float) -> int:
        self._trim(now)
        if self.limit is None:
            return 0
        return max(0, self.limit - len(self._events))

    def clear(self) -> None:
        self._events.clear()


@dataclass(frozen=True)
class Decision:
    ok: bool
    policy: str | None = None
    retry_after: float = 0.0

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


def _seconds_to_midnight(tz: tzinfo, now: datetime | None = None) -> float:
    """Seconds until the next midnight in the portal's time zone."""
    local = (now or datetime.now(UTC)).astimezone(tz)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), dt_time(0), tzinfo=tz)
    return (tomorrow - local).total_seconds()


class RateLimiter:
    """HubSpot's per-account limits: ``rate_limit`` per ``rate_window`` s, a daily budget and
    ``search_rate`` search calls per second. ``None`` disables one.

    The daily budget resets at midnight in the portal's time zone (``timezone``, an IANA name):
    "The daily limit resets at midnight based on your time zone setting."
    https://developers.hubspot.com/docs/api/usage-details ; ``now`` (a UTC datetime factory) is
    there for tests."""

    def __init__(
        self,
        rate_limit: int | None = 100,
        rate_window: float = 10.0,
        daily_limit: int | None = 250_000,
        search_rate: int | None = 5,
        secondly_limit: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        timezone: str = "UTC",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._now = now
        self.timezone = ZoneInfo(timezone)
        self.daily_limit = daily_limit
        self.window = RollingWindow(rate_limit, rate_window)
        self.search = RollingWindow(search_rate, 1.0)
        # a per-second limit on every call (HubSpot's -Secondly headers; None: none, as for
        # private apps)
        self.secondly = RollingWindow(secondly_limit, 1.0)
        self._daily_used = 0
        self._day = self._now().astimezone(self.timezone).date()

    def configure(
        self,
        *,
        rate_limit: Any = _UNSET,
        rate_window: Any = _UNSET,
        daily_limit: Any = _UNSET,
        search_rate: Any = _UNSET,
        secondly_limit: Any = _UNSET,
        timezone: Any = _UNSET,
    ) -> None:
        """Change limits at run time (only the arguments given; ``None`` disables a limit)."""
        with self._lock:
            if rate_limit is not _UNSET:
                self.window.limit = rate_limit
            if rate_window is not _UNSET:
                self.window.window = rate_window
            if daily_limit is not _UNSET:
                self.daily_limit = daily_limit
            if search_rate is not _UNSET:
                self.search.limit = search_rate
            if secondly_limit is not _UNSET:
                self.secondly.limit = secondly_limit
            if timezone is not _UNSET:
                self.timezone = ZoneInfo(timezone)
                self._day = self._now().astimezone(self.timezone).date()

    def _roll_day(self) -> None:
        today = self._now().astimezone(self.timezone).date()
        if today != self._day:
            self._day = today
            self._daily_used = 0

    def acquire(self, *, search: bool = False) -> Decision:
        """Consume one call if every limit allows it, else say which policy refused it."""
        with self._lock:
            now = self._clock()
            self._roll_day()
            if self.daily_limit is not None and self._daily_used >= self.daily_limit:
                return Decision(False, DAILY, _seconds_to_midnight(self.timezone, self._now()))
            if search and not self.search.available(now):
                return Decision(False, SECONDLY, self.search.retry_after(now))
            if not self.window.available(now):
                return Decision(False, TEN_SECONDLY, self.window.retry_after(now))
            if not self.secondly.available(now):
                return Decision(False, SECONDLY, self.secondly.retry_after(now))
            self.window.add(now)
            self.secondly.add(now)
            if search:
                self.search.add(now)
            self._daily_used += 1
            return Decision(True)

    def headers(self) -> dict[str, str]:
        """The ``X-HubSpot-RateLimit-*`` headers describing the current budget."""
        with self._lock:
            now = self._clock()
            daily = self.daily_limit if self.daily_limit is not None else 0
            out = {
                "X-HubSpot-RateLimit-Daily": str(daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, daily - self._daily_used)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.window.window * 1000)),
                "X-HubSpot-RateLimit-Max": str(self.window.limit or 0),
                "X-HubSpot-RateLimit-Remaining": str(self.window.remaining(now)),
            }
            if self.secondly.limit is not None:
                out["X-HubSpot-RateLimit-Secondly"] = str(self.secondly.limit)
                out["X-HubSpot-RateLimit-Secondly-Remaining"] = str(self.secondly.remaining(now))
            return out

    def spend_elsewhere(self, calls: int) -> None:
        """``calls`` made now by another integration of the portal: they count in the window
        and the day as HubSpot counts every app of an account together."""
        with self._lock:
            now = self._clock()
            for _ in range(calls):
                self.window.add(now)
            self._daily_used += calls

    def reset(self) -> None:
        with self._lock:
            self.window.clear()
            self.search.clear()
            self.secondly.clear()
            self._daily_used = 0
