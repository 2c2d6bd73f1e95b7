"""HubSpot rate limiting, shared by every glue process through Redis when REDIS_URL is set.

HubSpot counts requests in a rolling window ("ten_secondly_rolling": at most 100 requests in any
10 s) plus a daily budget. A classic token bucket refilling at 10/s would allow 100 + 100 requests
in one 10 s window, so this bucket returns each spent token `window` seconds after it was spent
(a sliding-window log): no window of that length ever sees more than `limit` requests. A small
`margin` is added to the window so that network jitter between our clock and HubSpot's cannot
push two bursts into one of HubSpot's windows.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from glue.config import redis_errors
from glue.hubspot.ratelimit_host import HostWindow
from glue.hubspot.ratewindow import LocalWindow, Window, poll_wait

# How it works (the detail of the module docstring):
#
# HubSpot counts a request when it *arrives*, which is some time after we granted it (a loaded
# machine can keep a process off the CPU between the grant and the send for longer than any fixed
# margin). So a call sent through ``RateLimiter.hold()`` is *held* while in flight and counted
# from its grant until `window` after its *answer*: HubSpot saw it somewhere in between, so no
# window of HubSpot's, wherever it lies, holds more than `limit` of our calls, whatever the
# scheduling delays (a grant is only given while fewer than `limit` calls are in flight or were
# answered less than `window` ago). An in-flight call of a process that dies is released after
# `lease` seconds (Redis), so a crash cannot leak the budget for good.
#
# Backends: `LocalWindow` (glue/hubspot/ratewindow.py: one process, thread-safe), `RedisWindow`
# (a sorted set per limit, updated atomically by a Lua script on the Redis server's clock, so all
# processes share one budget) and `HostWindow` (glue/hubspot/ratelimit_host.py: a file under a
# lock, shared by the processes of one host; the worker's when Redis is not configured). The
# windows' module is below both others: the arrows run one way. `build_limiter` picks Redis
# when configured and reachable, else the host's file when asked for (``host_path``), else local
# with a warning; a Redis-shared limiter falls back to per-process limits while Redis stops
# answering (a Redis restart must not stop the sync) and shares the budget again once it answers.

log = logging.getLogger(__name__)


class Stopped(Exception):
    """A stop was asked (SIGTERM/SIGINT) while a HubSpot call waited for the rate limit or
    for a retry: that attempt was not sent (an earlier attempt of it may have reached HubSpot)."""


class DailyBudgetExhausted(Exception):
    """The daily request budget is used up: stop pushing until tomorrow (UTC)."""


# A sorted set of calls scored by the time they stop counting minus `window`: the answer time
# once answered, the grant time plus `lease` while in flight (so a crashed process's call frees
# its token after lease + window). Times are the Redis server's (one clock for every process).
_LUA_ACQUIRE = """
local key, limit, window_us, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local lease_us, poll_us = tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_us)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now + lease_us, member)
  redis.call('PEXPIRE', key, math.ceil((window_us + lease_us) / 1000) + 1000)
  return 0
end
local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
if oldest > now then
  return poll_us
end
return math.max(oldest + window_us - now, 1000)
"""

_LUA_RELEASE = """
local key, window_us, member, lease_us = KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, math.ceil((window_us + lease_us) / 1000) + 1000)
return 0
"""


@dataclass
class RedisWindow:
    client: object  # redis.Redis
    key: str
    limit: int
    window: float
    lease: float = 60.0

    def __post_init__(self) -> None:
        self._registered_on: object = None

    def _script(self, which: str) -> object:
        if self._registered_on is not self.client:  # (re-)register on the current client
            self._scripts = {
                "acquire": self.client.register_script(_LUA_ACQUIRE),
                "release": self.client.register_script(_LUA_RELEASE),
            }
            self._registered_on = self.client
        return self._scripts[which]

    def try_acquire(self, member: str, limit: int | None = None) -> float:
        wait_us = self._script("acquire")(
            keys=[self.key],
            args=[
                self.limit if limit is None else limit,
                int(self.window * 1_000_000),
                member,
                int(self.lease * 1_000_000),
                int(poll_wait(self.window) * 1_000_000),
            ],
        )
        return int(wait_us) / 1_000_000

    def answered(self) -> int:
        """(Redis' clock: an answered call is scored by its answer time, one in flight by a
        time to come.)"""
        now_s, now_us = self.client.time()  # type: ignore[attr-defined]
        now = now_s * 1_000_000 + now_us
        floor = now - int(self.window * 1_000_000)
        return int(self.client.zcount(self.key, f"({floor}", now))  # type: ignore[attr-defined]

    def release(self, member: str) -> None:
        window_us, lease_us = int(self.window * 1_000_000), int(self.lease * 1_000_000)
        self._script("release")(keys=[self.key], args=[window_us, member, lease_us])


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
        self.limit = shared.limit
        self.local = LocalWindow(shared.limit, shared.window)
        self.probe_interval = probe_interval
        self._retry_at = 0.0

    def answered(self) -> int:
        if self._retry_at:
            return self.local.answered()
        try:
            return self.shared.answered() + self.local.answered()
        except redis_errors():
            return self.local.answered()

    def release(self, member: str) -> None:
        if self.local.release(member):  # granted while Redis was away
            return
        with contextlib.suppress(*redis_errors()):  # Redis gone: the call's lease frees its token
            self.shared.release(member)

    def try_acquire(self, member: str, limit: int | None = None) -> float:
        if time.monotonic() >= self._retry_at:
            try:
                wait = self.shared.try_acquire(member, limit)
                if self._retry_at:
                    log.info("Redis answers again: the HubSpot rate limit is shared again")
                    self._retry_at = 0.0
                return wait
            except redis_errors() as exc:
                if not self._retry_at:
                    log.warning("Redis unavailable for the rate limiter (%s): limiting per process",
                                str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
                self._retry_at = time.monotonic() + self.probe_interval
        return self.local.try_acquire(member, limit)


class FallbackBudget:
    """The Redis-shared daily budget, or a per-process count while Redis does not answer."""

    def __init__(self, shared: DailyBudget) -> None:
        self.shared = shared
        self.local = DailyBudget(shared.limit)

    def spend(self) -> None:
        try:
            self.shared.spend()
        except redis_errors():
            self.local.spend()


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            try:
                return int(str(value).strip())
            except ValueError:
                return None
    return None


# HubSpot's longest rate-limit window (the 10 s burst window; glue.hubspot.client.MAX_RETRY_AFTER)
MAX_INTERVAL_MS = 10_000


@dataclass
class HeaderBudget:
    """What HubSpot's ``X-HubSpot-RateLimit-*`` headers said of the budget in its last answer
    (https://developers.hubspot.com/docs/api/usage-details, "Rate limits": ``-Max`` and
    ``-Remaining`` of the window of ``-Interval-Milliseconds``, ``-Daily`` and
    ``-Daily-Remaining``, ``-Secondly`` and ``-Secondly-Remaining`` where a per-second limit
    applies). The limit is per account: other integrations of the portal spend it too, and a
    tier setting may be above the portal's. So a grant's limit is the window's own, at most
    HubSpot's ``-Max``, less the calls HubSpot counted that were not ours (``-Max`` -
    ``-Remaining`` - our calls in the window) for one interval after that answer; a
    ``-Secondly-Remaining`` of 0 holds the next call for a second; a ``-Daily-Remaining`` of 0
    stops for the day (DailyBudgetExhausted)."""

    clock: Callable[[], float] = time.monotonic
    max: int | None = None
    others: int = 0
    others_until: float = 0.0
    secondly_until: float = 0.0
    daily_left: int | None = None
    daily: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, headers: Mapping[str, str], ours: int) -> None:
        """An answer's headers; ``ours``: our calls HubSpot surely counted (those answered in
        the window, this one too; not those in flight, which may not have arrived: so the
        others' calls are never under-counted)."""
        top = _int_header(headers, "X-HubSpot-RateLimit-Max")
        left = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        interval = _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        if interval is not None and not 0 < interval <= MAX_INTERVAL_MS:
            interval = None  # not one of HubSpot's windows (1 s, 10 s): garbage, never waited
        secondly_left = _int_header(headers, "X-HubSpot-RateLimit-Secondly-Remaining")
        daily = _int_header(headers, "X-HubSpot-RateLimit-Daily")
        daily_left = _int_header(headers, "X-HubSpot-RateLimit-Daily-Remaining")
        now = self.clock()
        with self._lock:
            if top:  # (0 or absent: no window limit said)
                self.max = top
                if left is not None:
                    # answers of calls in flight together are observed in any order: a smaller
                    # count read while a larger one holds is an older answer (or others' calls
                    # leaving the window), so it waits for the larger one's interval to end
                    others = max(0, top - left - ours)
                    if others >= self.others or now >= self.others_until:
                        self.others = others
                        self.others_until = now + (interval or 10_000) / 1000
            if secondly_left is not None and secondly_left <= 0:
                self.secondly_until = now + 1.0
            if daily:
                self.daily, self.daily_left = daily, daily_left

    def limit(self, own: int) -> tuple[int, float]:
        """(this grant's limit, seconds to wait first) for a window whose own limit is ``own``."""
        now = self.clock()
        with self._lock:
            limit = min(own, self.max) if self.max else own
            if now < self.others_until:
                limit -= self.others
            if self.daily_left is not None and self.daily_left <= 0:
                raise DailyBudgetExhausted(
                    f"HubSpot says the daily budget of {self.daily} requests is used"
                )
            return max(limit, 1), max(self.secondly_until - now, 0.0)


@dataclass
class RateLimiter:
    """Blocks until a request may be sent; counts the waits for `mockbook push` to report.

    ``with limiter.hold():`` around the send (the call counts until `window` after its answer);
    ``acquire()`` when the call is counted from the grant alone."""

    window: Window
    daily: DailyBudget | FallbackBudget
    headers: HeaderBudget = field(default_factory=HeaderBudget)
    waits: int = 0
    waited_seconds: float = 0.0
    sleep: Callable[[float], None] = time.sleep
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _answered: threading.Event = field(default_factory=threading.Event)
    _probe: threading.Lock = field(default_factory=threading.Lock)
    _probe_owner: int | None = None

    def _wait(self, delay: float, stop: threading.Event | None) -> None:
        if stop is None:
            self.sleep(delay)
        elif stop.is_set() or stop.wait(delay):
            raise Stopped("stopped while waiting for the rate limit")

    def _try(self, member: str) -> float:
        limit, hold = self.headers.limit(self.window.limit)
        if hold > 0:
            return hold
        return self.window.try_acquire(member, None if limit >= self.window.limit else limit)

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """The rate-limit headers of an answer to a call still held (HeaderBudget)."""
        if headers:
            try:
                ours = self.window.answered() + 1  # and this one, which HubSpot counted
            except redis_errors():
                return
            self.headers.observe(headers, ours)

    def _grant(self, member: str, stop: threading.Event | None = None) -> float:
        waited = 0.0
        while (delay := self._try(member)) > 0:
            self._wait(delay, stop)
            waited += delay
        if waited:
            with self._lock:
                self.waits += 1
                self.waited_seconds += waited
        return waited

    def _first_answer_wait(self, stop: threading.Event | None) -> bool:
        """Until HubSpot has answered once, one call at a time: its first answer's headers say
        what other integrations of the portal have spent (HeaderBudget), which calls sent
        together before it could overrun. True: this call is that first one."""
        if self._answered.is_set() or self._probe_owner == threading.get_ident():
            return False  # (a call nested in the first one's block does not wait for it)
        if self._probe.acquire(blocking=False):
            self._probe_owner = threading.get_ident()
            return True
        while not self._answered.wait(0.05):
            if stop is not None and stop.is_set():
                raise Stopped("stopped while waiting for the rate limit")
        return False

    @contextlib.contextmanager
    def hold(self, stop: threading.Event | None = None) -> Iterator[float]:
        """Wait for a token, keep it while the block sends the call, count it from the end of
        the block (the answer). Yields the seconds waited. ``stop`` set while waiting: Stopped,
        nothing taken."""
        first = self._first_answer_wait(stop)
        try:
            member = uuid.uuid4().hex
            waited = self._grant(member, stop)
            try:
                self.daily.spend()  # DailyBudgetExhausted propagates: stop for today
                yield waited
            finally:
                self.window.release(member)
        finally:
            if first:  # answered, failed or stopped: the others go on
                self._answered.set()

    def acquire(self) -> float:
        with self.hold() as waited:
            return waited


class ShareLimiter:
    """A share of a limiter: a call waits for a token of ``share`` (its own, smaller window),
    then for one of ``general``, so it counts in both. The worker's sync lane (pull, notes)
    calls HubSpot through one, so the push always has the rest of the budget."""

    def __init__(self, share: RateLimiter, general: RateLimiter) -> None:
        self.share = share
        self.general = general

    @property
    def waits(self) -> int:
        return self.share.waits + self.general.waits

    def observe(self, headers: Mapping[str, str] | None) -> None:
        self.general.observe(headers)

    @contextlib.contextmanager
    def hold(self, stop: threading.Event | None = None) -> Iterator[float]:
        with self.share.hold(stop) as first, self.general.hold(stop) as second:
            yield first + second

    def acquire(self) -> float:
        with self.hold() as waited:
            return waited


def build_limiter(
    *,
    limit: int,
    window: float,
    daily: int,
    redis_url: str | None,
    name: str = "hubspot",
    margin: float = 0.25,
    lease: float = 60.0,
    host_path: Path | None = None,
) -> RateLimiter:
    """Redis-shared limiter when `redis_url` is set and answers, else one shared by the host's
    processes through ``host_path`` when given (HostWindow), else a process-local one."""
    effective = window + margin
    if redis_url:
        import redis

        try:
            client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
            client.ping()
            key = f"mockbook:ratelimit:{name}"
            return RateLimiter(
                FallbackWindow(RedisWindow(client, key, limit, effective, lease)),
                FallbackBudget(DailyBudget(daily, client, prefix=f"{key}:daily")),
            )
        except Exception as exc:  # redis.RedisError, OSError: fall back, never stop the sync
            log.warning(
                "Redis unavailable for the shared rate limiter (%s); limiting per %s", exc,
                "host" if host_path is not None else "process",
            )
    if host_path is not None:
        return RateLimiter(
            HostWindow(host_path, limit, effective, fallback=LocalWindow(limit, effective)),
            DailyBudget(daily),
        )
    return RateLimiter(LocalWindow(limit, effective), DailyBudget(daily))
