"""The Redis keys the apps read, kept coherent with the database.

Redis is an accelerator, never the judge: every value written here is read from the database at
the moment of writing (create_booking decides capacity under the exam lock; these keys only show
its result).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import psycopg

from glue.config import ConfigError, redis_errors
from glue.db import cache as cache_sql
from glue.redaction import redact_url

if TYPE_CHECKING:  # the annotations only: redis is imported where a client is made
    import redis

# How it works (the detail of the module docstring):
#
# Keys (names fixed by the apps):
#   capacity:{exam_hubspot_id}          remaining seats, greatest(capacity - total_bookings - held,
#                                       0), held = the seats held by waitlist offers (
#                                       the rule of list_available_exams and take_seat);
#                                       no TTL (rewritten on every change; an expired key would read
#                                       as "missing" in the apps' old DECR code and look full)
#   exam:{exam_hubspot_id}:bookings     Active bookings of the exam (total_bookings, which equals
#                                       the Active count by the data model invariant); no TTL
#   user:exams:available                JSON list of hubspot_sync.list_available_exams() rows (the
#                                       bookable exams, each with remaining_seats; full ones too,
#                                       with is_full true, exactly as the RPC returns them); TTL
#                                       60 s, because an exam also becomes (un)bookable with no row
#                                       changing (a scheduled activation time, or the exam date,
#                                       passing): the apps then reload it from the database
#   user:bookings:{contact_hubspot_id}  deleted when stale (the user app fills it)
#   exams:list                          deleted when stale (the admin app fills it)
#
# Which change touches which keys (CacheKeeper.apply_changes):
#   bookings  capacity/bookings keys of the old and the new exam, user:exams:available; deletes
#             user:bookings of the old and new associated_contact_id (a booking with no contact
#             HubSpot id yet: the contact found by its student_id)
#   exams     that exam's keys (deleted with the exam), user:exams:available; deletes exams:list
#   waitlist  (a place joined, offered, accepted, expired, left or closed) that exam's keys and
#             user:exams:available (held seats and the waiting count moved); deletes the
#             user:bookings of the place's student (list_contact_bookings shows open places)
#   contacts  deletes user:bookings:{hubspot_id} only when the contact is inserted, deleted or its
#             hubspot_id changes (old and new id): a booking list carries its own copies of name
#             and email, credit changes do not change it, and every booking change already
#             invalidates it
# The change rows only say *which* keys; the values come from the database, so a change applied
# twice, late or out of order still leaves the right values. One Redis round trip per call: all
# writes go in one MULTI/EXEC pipeline, so readers never see half an update.
#
# Redis down, or no REDIS_URL: every method is a no-op (returns None) after one logged warning per
# outage; while down, Redis is probed at most every `probe_interval` seconds, and the first call
# that finds it answering again rebuilds every key (they may have gone stale meanwhile). A Redis
# that lost its data with no error seen (a quick restart, a flush) is noticed by the marker key
# mockbook:cache:rebuilt_at, checked in every update's MULTI (an empty update is just that check),
# and the keys are rebuilt at once: so the worker calls apply_changes on every wake-up, with no
# changes too. A new keeper also rebuilds on its first call: it cannot know what changed before it
# ran. Redis errors never reach the caller; database errors do (the caller owns the connection),
# after marking the keys for a rebuild on the next call.
#
# Several keepers at once (the worker, `mockbook run` from cron, the webhook processor) take
# turns: each call reads its snapshot and writes Redis under one transaction-level advisory lock
# (glue.db.cache.keeper_turn), so a read made before a commit is never written after a read made
# after it.
#
# How the worker drives it:
#
#     watch = OutboxWatch(conn)
#     position = start_position(conn)
#     keeper.rebuild_all(conn)
#     while True:
#         time.sleep(0.05)
#         if watch.poll():  # rows committed since the last look (cheap when nothing moved)
#             position, changes = changes_since(conn, position)  # again while `limit` rows
#             keeper.apply_changes(conn, changes)
#
# Why a poll and not LISTEN/NOTIFY: a transaction that sends a NOTIFY commits under PostgreSQL's
# one cluster-wide notification lock, so every booking's commit was serialised behind every other
# (2,291 -> 5,173 tps at 32 clients on 16 cores with the NOTIFY gone). The poll reads the
# outbox sequence's last value (pg_sequence_last_value: no lock, no table access) every 50 ms, and
# the outbox itself only when that moved or rows below it are still uncommitted.
#
# Why a position and not a bare id: sync_queue ids are taken at insert but become visible at
# commit, so during a booking rush id 41 may commit after id 42. changes_since remembers such gaps
# and asks for them again for `gap_grace` seconds; a gap still missing after that was a rolled-back
# insert (or a transaction that took longer: its keys are right again after the next change of
# that exam, or the next full rebuild of `mockbook run`).

log = logging.getLogger(__name__)

AVAILABLE_KEY = "user:exams:available"
EXAMS_LIST_KEY = "exams:list"
AVAILABLE_TTL_SECONDS = 60
# Written by every rebuild, checked by every update in the same MULTI: missing means Redis lost
# its data without the keeper seeing an error (a quick restart, FLUSHDB, eviction).
MARKER_KEY = "mockbook:cache:rebuilt_at"
T = TypeVar("T")


def capacity_key(exam_id: str) -> str:
    return f"capacity:{exam_id}"


def bookings_key(exam_id: str) -> str:
    return f"exam:{exam_id}:bookings"


def user_bookings_key(contact_id: str) -> str:
    return f"user:bookings:{contact_id}"


# Patterns of the keys rebuild_all owns entirely (stale ones are deleted).
_OWNED_PATTERNS = ("capacity:*", "exam:*:bookings", "user:bookings:*")



class Change(NamedTuple):
    """One outbox row: which table, what happened, the row before and after (as dicts)."""

    id: int
    table: str
    operation: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None


@dataclass(frozen=True)
class FeedPosition:
    """Where a reader of the outbox is: the newest id seen, and the lower ids not seen yet
    (each with the time.monotonic() after which it is given up as rolled back)."""

    last_id: int = 0
    gaps: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class CacheUpdate:
    """What one call did to Redis."""

    written: int
    deleted: int
    rebuilt: bool = False


@dataclass
class _Plan:
    exams: set[str] = field(default_factory=set)
    contacts: set[str] = field(default_factory=set)
    students: set[str] = field(default_factory=set)
    exams_list: bool = False

    @property
    def empty(self) -> bool:
        return not (self.exams or self.contacts or self.students or self.exams_list)


def plan_changes(changes: Iterable[Change]) -> _Plan:
    """Which exams to refresh and which contacts' booking lists to drop, from the change rows."""
    plan = _Plan()
    for change in changes:
        rows = [row for row in (change.old, change.new) if row]
        if change.table == "hubspot_bookings":
            for row in rows:
                if row.get("associated_mock_exam"):
                    plan.exams.add(row["associated_mock_exam"])
                if row.get("associated_contact_id"):
                    plan.contacts.add(row["associated_contact_id"])
                elif row.get("student_id"):
                    plan.students.add(row["student_id"])
        elif change.table == "hubspot_mock_exams":
            plan.exams.update(row["hubspot_id"] for row in rows if row.get("hubspot_id"))
            plan.exams_list = True
        elif change.table == "waitlist_entries":
            for row in rows:
                if row.get("mock_exam_id"):
                    plan.exams.add(row["mock_exam_id"])
                if row.get("student_id"):
                    plan.students.add(row["student_id"])
        elif change.table == "hubspot_contact_credits":
            old_id = (change.old or {}).get("hubspot_id")
            new_id = (change.new or {}).get("hubspot_id")
            if change.operation == "DELETE" or old_id != new_id:
                plan.contacts.update(i for i in (old_id, new_id) if i)
    return plan


def redis_client(url: str, *, timeout: float = 1.0) -> redis.Redis:
    """A client that fails fast (no retries, short timeouts): a missing Redis must not slow
    the sync down. A malformed URL is a configuration error."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    try:
        return redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL is malformed: {exc}") from None


def _text(key: str | bytes) -> str:
    return key.decode() if isinstance(key, bytes) else key


class CacheKeeper:
    """Writes the Redis contract keys from the database; see the module docstring for the
    rules."""

    def __init__(
        self,
        target: str | redis.Redis | None,
        *,
        probe_interval: float = 2.0,
        available_ttl: int = AVAILABLE_TTL_SECONDS,
    ) -> None:
        if isinstance(target, str):
            self._client: redis.Redis | None = redis_client(target)
            self._where = redact_url(target)
        else:
            self._client = target
            self._where = "the configured Redis" if target is not None else "-"
        self.probe_interval = probe_interval
        self.available_ttl = available_ttl
        self._down = False
        self._stale = True  # rebuild on the first call
        self._next_probe = 0.0
        self._warned_unset = False

    @property
    def available(self) -> bool:
        """False when Redis is not configured or the last call found it unreachable."""
        return self._client is not None and not self._down

    def rebuild_all(self, conn: psycopg.Connection) -> CacheUpdate | None:
        """Rewrite every exam's keys and user:exams:available, delete the keys of exams that no
        longer exist, exams:list and every user:bookings:*. None when Redis is unavailable."""
        client = self._usable()
        if client is None:
            return None
        return self._guard(lambda: self._rebuild(client, conn))

    def apply_changes(
        self, conn: psycopg.Connection, changes: Iterable[Change]
    ) -> CacheUpdate | None:
        """Bring the keys the changes touch up to date (a full rebuild instead when the keys
        may be stale). None when Redis is unavailable."""
        client = self._usable()
        if client is None:
            return None
        if self._stale:
            return self._guard(lambda: self._rebuild(client, conn))
        plan = plan_changes(changes)
        return self._guard(lambda: self._apply(client, conn, plan))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- internals -------------------------------------------------------------------------

    def _usable(self) -> redis.Redis | None:
        if self._client is None:
            if not self._warned_unset:
                log.warning("REDIS_URL is not set: the Redis cache keys are not maintained")
                self._warned_unset = True
            return None
        if self._down:
            if time.monotonic() < self._next_probe:
                return None
            try:
                self._client.ping()
            except redis_errors():
                self._next_probe = time.monotonic() + self.probe_interval
                return None
            log.info("Redis at %s answers again: rebuilding the cache keys", self._where)
            self._down = False
        return self._client

    def _guard(self, work: Callable[[], T]) -> T | None:
        try:
            return work()
        except redis_errors() as exc:
            if not self._down:
                log.warning(
                    "Redis unavailable at %s (%s): cache keys are not maintained until "
                    "it answers again",
                    self._where,
                    exc,
                )
            self._down = True
            self._stale = True
            self._next_probe = time.monotonic() + self.probe_interval
            return None
        except BaseException:
            self._stale = True  # a database error mid-way: the next call starts from scratch
            raise

    def _snapshot(
        self,
        conn: psycopg.Connection,
        *,
        all_exams: bool,
        exams: Iterable[str] = (),
        students: Iterable[str] = (),
    ) -> tuple[str, list[list[Any]], list[str]]:
        return cache_sql.snapshot(
            conn, all_exams=all_exams, exams=sorted(exams), students=sorted(students)
        )

    def _rebuild(self, client: redis.Redis, conn: psycopg.Connection) -> CacheUpdate:
        with cache_sql.keeper_turn(conn):  # read and write in turn with other keepers
            return self._rebuild_in_turn(client, conn)

    def _rebuild_in_turn(self, client: redis.Redis, conn: psycopg.Connection) -> CacheUpdate:
        available, exams, _ = self._snapshot(conn, all_exams=True)
        keep = set()
        for exam_id, _remaining, _total in exams:
            keep.update((capacity_key(exam_id), bookings_key(exam_id)))
        stale = {
            _text(key)
            for pattern in _OWNED_PATTERNS
            for key in client.scan_iter(match=pattern, count=1000)
        } - keep
        pipe = client.pipeline(transaction=True)
        pipe.delete(EXAMS_LIST_KEY, *sorted(stale))
        for exam_id, remaining, total in exams:
            pipe.set(capacity_key(exam_id), remaining)
            pipe.set(bookings_key(exam_id), total)
        pipe.set(AVAILABLE_KEY, available, ex=self.available_ttl)
        pipe.set(MARKER_KEY, f"{time.time():.3f}")
        pipe.execute()
        self._stale = False
        return CacheUpdate(written=2 * len(exams) + 1, deleted=len(stale) + 1, rebuilt=True)

    def _apply(self, client: redis.Redis, conn: psycopg.Connection, plan: _Plan) -> CacheUpdate:
        with cache_sql.keeper_turn(conn):  # read and write in turn with other keepers
            return self._apply_in_turn(client, conn, plan)

    def _apply_in_turn(
        self, client: redis.Redis, conn: psycopg.Connection, plan: _Plan
    ) -> CacheUpdate:
        pipe = client.pipeline(transaction=True)
        pipe.exists(MARKER_KEY)
        written = deleted = 0
        contacts = set(plan.contacts)
        if plan.exams or plan.students:
            available, exams, found = self._snapshot(
                conn, all_exams=False, exams=plan.exams, students=plan.students
            )
            contacts.update(found)
            present = set()
            for exam_id, remaining, total in exams:
                pipe.set(capacity_key(exam_id), remaining)
                pipe.set(bookings_key(exam_id), total)
                present.add(exam_id)
            gone = sorted(plan.exams - present)
            for exam_id in gone:
                pipe.delete(capacity_key(exam_id), bookings_key(exam_id))
            pipe.set(AVAILABLE_KEY, available, ex=self.available_ttl)
            written, deleted = 2 * len(present) + 1, 2 * len(gone)
        doomed = [user_bookings_key(c) for c in sorted(contacts)]
        if plan.exams_list:
            doomed.append(EXAMS_LIST_KEY)
        if doomed:
            pipe.delete(*doomed)
        if not pipe.execute()[0]:
            log.info("Redis lost the cache keys (restarted or flushed): rebuilding them")
            return self._rebuild_in_turn(client, conn)
        return CacheUpdate(written=written, deleted=deleted + len(doomed))


# -- reading the outbox --------------------------------------------------------------------


def start_position(
    conn: psycopg.Connection, *, lookback: int = 1000, gap_grace: float = 60.0
) -> FeedPosition:
    """Where a new reader starts: after the newest visible row, still waiting (gap_grace
    seconds) for the ids below it, within `lookback`, that are not committed yet."""
    last_id, gaps = cache_sql.start(conn, lookback)
    deadline = time.monotonic() + gap_grace
    return FeedPosition(last_id=last_id, gaps=tuple((i, deadline) for i in gaps))


def changes_since(
    conn: psycopg.Connection,
    position: FeedPosition | int,
    *,
    limit: int = 1000,
    gap_grace: float = 60.0,
    max_gaps: int = 1000,
) -> tuple[FeedPosition, list[Change]]:
    """The sync_queue rows after `position` (done ones too: a push may already have completed
    them; purge keeps them 7 days), oldest first, at most `limit`, with the new position.

    Ids below the newest one returned that are not visible yet (inserted by a transaction that
    has not committed) are remembered in the position and returned when they commit, for up to
    `gap_grace` seconds (at most `max_gaps` of them)."""
    if isinstance(position, int):
        position = FeedPosition(last_id=position)
    rows = cache_sql.changes(
        conn, last=position.last_id, gaps=[i for i, _ in position.gaps], limit=limit
    )
    changes = [Change(*row) for row in rows]
    return _advance(position, [c.id for c in changes], gap_grace, max_gaps), changes


def _advance(
    position: FeedPosition, ids: list[int], gap_grace: float, max_gaps: int
) -> FeedPosition:
    """The position after reading `ids` (ascending) from `position`."""
    seen = set(ids)
    now = time.monotonic()
    gaps = [(i, deadline) for i, deadline in position.gaps if i not in seen and deadline > now]
    last_id = position.last_id
    deadline = now + gap_grace
    for i in ids:
        if i <= position.last_id:
            continue
        if i > last_id + 1:
            gaps.extend((g, deadline) for g in range(max(last_id + 1, i - max_gaps), i))
        last_id = i
    return FeedPosition(last_id=last_id, gaps=tuple(gaps[-max_gaps:]))


def outbox_mark(conn: psycopg.Connection) -> int:
    """The last sync_queue id handed out, committed or not (0 before the first): one cheap
    read of the sequence, no lock, no table access."""
    return cache_sql.mark(conn)


class OutboxWatch:
    """Tells the worker when outbox rows were committed, without NOTIFY (see the module
    docstring): :meth:`poll` reads the outbox's high-water mark and, only when it moved (or
    ids below it were still uncommitted when last looked at, for `settle_seconds` after the last
    move: a booking waiting for a lock commits late), the ids committed since its position.
    `conn` must be in autocommit mode. Call it every ``worker_wake_seconds`` (50 ms)."""

    def __init__(
        self,
        conn: psycopg.Connection,
        *,
        settle_seconds: float = 5.0,
        gap_grace: float = 60.0,
        limit: int = 10_000,
    ) -> None:
        if not conn.autocommit:
            raise ValueError("OutboxWatch needs a connection in autocommit mode")
        self.conn = conn
        self.settle_seconds = settle_seconds
        self.gap_grace = gap_grace
        self.limit = limit
        self.mark = outbox_mark(conn)
        self.position = start_position(conn, gap_grace=gap_grace)
        self.moved_at = time.monotonic()  # rows in flight at start are waited for too
        self.reads = 0  # how many times the outbox itself was read (the rest: the mark only)

    @property
    def pending(self) -> bool:
        """Ids handed out that were not seen committed yet (in flight, or rolled back)."""
        return self.position.last_id < self.mark or bool(self.position.gaps)

    def poll(self) -> int:
        """How many outbox rows were committed since the last call (0: none, or not looked)."""
        mark = outbox_mark(self.conn)
        now = time.monotonic()
        if mark != self.mark:
            self.mark, self.moved_at = mark, now
        elif not (self.pending and now - self.moved_at < self.settle_seconds):
            return 0
        found = 0
        while True:
            self.reads += 1
            ids = cache_sql.ids(
                self.conn,
                last=self.position.last_id,
                gaps=[i for i, _ in self.position.gaps],
                limit=self.limit,
            )
            self.position = _advance(self.position, ids, self.gap_grace, 1000)
            found += len(ids)
            if len(ids) < self.limit:
                return found
