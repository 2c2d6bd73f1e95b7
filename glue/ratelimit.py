"""HubSpot rate limiting, shared by every glue process through Redis when REDIS_URL is set.

HubSpot counts requests in a rolling window ("ten_secondly_rolling": at most 100 requests in any
10 s) plus a daily budget. A classic token bucket refilling at 10/s would allow 100 + 100 requests
in one 10 s window, so this bucket returns each spent token `window` seconds after it was spent
(a sliding-window log): no window of that length ever sees more than `limit` requests. A small
`margin` is added to the window so that network jitter between our clock and HubSpot's cannot
push two bursts into one of HubSpot's windows.

Backends: `LocalWindow` (one process, thread-safe) and `RedisWindow` (a sorted set per limit,
updated atomically by a Lua script on the Redis server's clock, so all processes share one
budget). `build_limiter` picks Redis when configured and reachable, else local with a warning;
a Redis-shared limiter falls back to per-process limits while Redis stops answering (a Redis
restart must not stop the sync) and shares the budget again once it answers.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Protocol

import redis

log = logging.getLogger(__name__)

_REDIS_ERRORS = (redis.RedisError, OSError)


class DailyBudgetExhausted(Exception):
    """The daily request budget is used up: stop pushing until tomorrow (UTC)."""


class Window(Protocol):
    def try_acquire(self) -> float:
        """Take a token now and return 0, or return the seconds to wait before one is free."""


@dataclass
class LocalWindow:
    limit: int
    window: float
    _spent: collections.deque = field(default_factory=collections.deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def try_acquire(self) -> float:
        with self._lock:
            now = time.monotonic()
            while self._spent and self._spent[0] <= now - self.window:
                self._spent.popleft()
            if len(self._spent) < self.limit:
                self._spent.append(now)
                return 0.0
            return max(self._spent[0] + self.window - now, 0.001)


_LUA_ACQUIRE = """
local key, limit, window_us, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_us)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window_us / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + window_us - now, 1000)
"""


@dataclass
class RedisWindow:
    client: object  # redis.Redis
    key: str
    limit: int
    window: float

    def __post_init__(self) -> None:
        self._script = self.client.register_script(_LUA_ACQUIRE)

    def try_acquire(self) -> float:
        wait_us = self._script(
            keys=[self.key], args=[self.limit, int(self.window * 1_000_000), uuid.uuid4().hex]
        )
        return int(wait_us) / 1_000_000


@dataclass
class DailyBudget:
    limit: int
    client: object | None = None  # redis.Redis, or None for a process-local count
    prefix: str = "mockbook:ratelimit:daily"
    _count: int = 0
    _day: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def spend(self) -> None:
        day = time.strftime("%Y%m%d", time.gmtime())
        if self.client is not None:
            key = f"{self.prefix}:{day}"
            used = self.client.incr(key)
            if used == 1:
                self.client.expire(key, 2 * 86400)
        else:
            with self._lock:
                if day != self._day:
                    self._day, self._count = day, 0
                self._count += 1
                used = self._count
        if used > self.limit:
            raise DailyBudgetExhausted(f"the daily HubSpot budget of {self.limit} requests is used")


class FallbackWindow:
    """A Redis-shared window, or a per-process one while Redis does not answer (probed again
    every `probe_interval` seconds)."""

    def __init__(self, shared: RedisWindow, probe_interval: float = 5.0) -> None:
        self.shared = shared
        self.local = LocalWindow(shared.limit, shared.window)
        self.probe_interval = probe_interval
        self._retry_at = 0.0

    def try_acquire(self) -> float:
        if time.monotonic() >= self._retry_at:
            try:
                wait = self.shared.try_acquire()
                if self._retry_at:
                    log.info("Redis answers again: the HubSpot rate limit is shared again")
                    self._retry_at = 0.0
                return wait
            except _REDIS_ERRORS as exc:
                if not self._retry_at:
                    log.warning("Redis unavailable for the rate limiter (%s): limiting per process",
                                str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
                self._retry_at = time.monotonic() + self.probe_interval
        return self.local.try_acquire()


class FallbackBudget:
    """The Redis-shared daily budget, or a per-process count while Redis does not answer."""

    def __init__(self, shared: DailyBudget) -> None:
        self.shared = shared
        self.local = DailyBudget(shared.limit)

    def spend(self) -> None:
        try:
            self.shared.spend()
        except _REDIS_ERRORS:
            self.local.spend()


@dataclass
class RateLimiter:
    """Blocks until a request may be sent; counts the waits for `mockbook push` to report."""

    window: Window
    daily: DailyBudget | FallbackBudget
    waits: int = 0
    waited_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self) -> float:
        waited = 0.0
        while (delay := self.window.try_acquire()) > 0:
            time.sleep(delay)
            waited += delay
        self.daily.spend()
        if waited:
            with self._lock:
                self.waits += 1
                self.waited_seconds += waited
        return waited


def build_limiter(
    *,
    limit: int,
    window: float,
    daily: int,
    redis_url: str | None,
    name: str = "hubspot",
    margin: float = 0.25,
) -> RateLimiter:
    """Redis-shared limiter when `redis_url` is set and answers, else a process-local one."""
    effective = window + margin
    if redis_url:
        try:
            client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
            client.ping()
            key = f"mockbook:ratelimit:{name}"
            return RateLimiter(
                FallbackWindow(RedisWindow(client, key, limit, effective)),
                FallbackBudget(DailyBudget(daily, client, prefix=f"{key}:daily")),
            )
        except Exception as exc:  # redis.RedisError, OSError: fall back, never stop the sync
            log.warning(
                "Redis unavailable for the shared rate limiter (%s); limiting per process", exc
            )
    return RateLimiter(LocalWindow(limit, effective), DailyBudget(daily))
