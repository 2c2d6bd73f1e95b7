"""The Redis keys of the Redis contract (glue.cache): equal to the database after a rebuild,
updated or
deleted after bookings, cancellations, capacity and exam changes, a no-op with one warning while
Redis is away, rebuilt when it comes back; and the outbox reader the worker will drive them with.

Redis: REDIS_URL's server (default 127.0.0.1:6379), database 9, flushed before each test (the
apps' key names are fixed, so the test keeps to a database of its own).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from waiting import wait_until

from glue import cache
from glue.cache import (
    CacheKeeper,
    Change,
    OutboxWatch,
    changes_since,
    outbox_mark,
    plan_changes,
    start_position,
)
from glue.config import ConfigError

TEST_REDIS_DB = 9


def test_redis_url() -> str:
    base = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunsplit(base._replace(path=f"/{TEST_REDIS_DB}"))


test_redis_url.__test__ = False  # a helper, not a test


@pytest.fixture(scope="module")
def cache_db(database_url: str) -> str:
    """This module's database (tests/conftest.py: a copy of the run's migrated template)."""
    return database_url


@pytest.fixture
def conn(cache_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(cache_db, autocommit=True) as connection:
        connection.execute("SET mockbook.lock_timeout = '10s'")
        yield connection


@pytest.fixture
def r() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(test_redis_url(), decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def keeper(r: redis.Redis) -> Iterator[CacheKeeper]:
    k = CacheKeeper(test_redis_url(), probe_interval=0)
    yield k
    k.close()


# -- helpers -------------------------------------------------------------------------------


def one(conn: psycopg.Connection, query: str, params: tuple = ()):
    return conn.execute(query, params).fetchone()[0]


def make_exam(conn: psycopg.Connection, **kwargs) -> str:
    args = ", ".join(f"{k} := %s" for k in kwargs)
    return one(conn, f"SELECT tests.make_exam({args})", tuple(kwargs.values()))


def make_student(conn: psycopg.Connection, credits: int = 5) -> str:
    return one(conn, "SELECT tests.make_student(p_sj := %s)", (credits,))


def book(conn: psycopg.Connection, student: str, exam: str) -> dict:
    return one(conn, "SELECT tests.book(%s, %s, %s)", (student, exam, str(uuid.uuid4())))


def cancel(conn: psycopg.Connection, booking_code: str) -> dict:
    return one(conn, "SELECT tests.rpc('service_role', format("
                     "'hubspot_sync.cancel_booking(p_booking_id := %%L)', %s::text))",
               (booking_code,))


def db_keys(conn: psycopg.Connection) -> dict[str, str]:
    """What capacity:* and exam:*:bookings must hold, computed independently of glue.cache:
    remaining seats are capacity - Active bookings - seats held by waitlist offers."""
    keys = {}
    for hid, capacity, active, held in conn.execute(
            "SELECT e.hubspot_id, e.capacity, count(b.id) FILTER (WHERE b.is_active = 'Active'), "
            "(SELECT count(*) FROM hubspot_sync.waitlist_entries w "
            " WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'offered') "
            "FROM hubspot_sync.hubspot_mock_exams e "
            "LEFT JOIN hubspot_sync.hubspot_bookings b ON b.associated_mock_exam = e.hubspot_id "
            "GROUP BY e.hubspot_id, e.capacity"):
        keys[f"capacity:{hid}"] = str(max(capacity - active - held, 0))
        keys[f"exam:{hid}:bookings"] = str(active)
    return keys


def available_rows(conn: psycopg.Connection) -> list[dict]:
    """list_available_exams() as PostgREST returns it to the apps."""
    return one(conn, "SELECT tests.rpc_rows('service_role', 'hubspot_sync.list_available_exams()')")


def redis_exam_keys(r: redis.Redis) -> dict[str, str]:
    names = list(r.scan_iter("capacity:*")) + list(r.scan_iter("exam:*:bookings"))
    return {name: r.get(name) for name in names}


def sync(conn: psycopg.Connection, keeper: CacheKeeper, position):
    position, changes = changes_since(conn, position)
    return position, keeper.apply_changes(conn, changes), changes


# -- rebuild -------------------------------------------------------------------------------


def test_rebuild_writes_every_key_from_the_database(conn, r, keeper) -> None:
    """After rebuild_all: one capacity and one bookings key per exam (bookable or not), the
    available list equal to list_available_exams(), stale keys gone."""
    open_exam = make_exam(conn, p_capacity=3)
    full_exam = make_exam(conn, p_capacity=1)
    closed_exam = make_exam(conn, p_capacity=4, p_is_active="false")
    for exam in (open_exam, full_exam):
        book(conn, make_student(conn), exam)
    r.set("capacity:GONE", "7")
    r.set("exam:GONE:bookings", "1")
    r.set("user:bookings:CSOMEONE", "[]")
    r.set("exams:list", "[]")
    r.set("unrelated:key", "kept")

    result = keeper.rebuild_all(conn)

    assert result is not None and result.rebuilt
    assert redis_exam_keys(r) == db_keys(conn)
    assert r.get(f"capacity:{open_exam}") == "2"
    assert r.get(f"capacity:{full_exam}") == "0"
    assert r.get(f"exam:{full_exam}:bookings") == "1"
    assert r.get(f"capacity:{closed_exam}") == "4"
    available = json.loads(r.get("user:exams:available"))
    assert available == available_rows(conn)
    ids = [row["mock_exam_id"] for row in available]
    assert open_exam in ids and full_exam in ids and closed_exam not in ids
    assert next(row for row in available if row["mock_exam_id"] == full_exam)["is_full"] is True
    assert 0 < r.ttl("user:exams:available") <= cache.AVAILABLE_TTL_SECONDS
    assert r.ttl(f"capacity:{open_exam}") == -1  # no TTL: rewritten, never left to expire
    for gone in ("capacity:GONE", "exam:GONE:bookings", "user:bookings:CSOMEONE", "exams:list"):
        assert r.exists(gone) == 0, gone
    assert r.get("unrelated:key") == "kept"


# -- apply_changes -------------------------------------------------------------------------


def test_booking_cancellation_capacity_and_exam_changes(conn, r, keeper) -> None:
    exam = make_exam(conn, p_capacity=5)
    student = make_student(conn)
    contact = f"C{student}"
    keeper.rebuild_all(conn)
    position = start_position(conn)

    # a booking: seats and count of its exam, the available list, the student's booking list
    r.set(f"user:bookings:{contact}", "[]")
    r.set("exams:list", "[]")
    booking = book(conn, student, exam)
    position, result, changes = sync(conn, keeper, position)
    assert {c.table for c in changes} >= {"hubspot_bookings", "hubspot_mock_exams"}
    assert result is not None and not result.rebuilt
    assert r.get(f"capacity:{exam}") == "4"
    assert r.get(f"exam:{exam}:bookings") == "1"
    row = next(e for e in json.loads(r.get("user:exams:available")) if e["mock_exam_id"] == exam)
    assert row["remaining_seats"] == 4 and row["total_bookings"] == 1
    assert r.exists(f"user:bookings:{contact}") == 0
    assert r.exists("exams:list") == 0  # total_bookings changed: the admin list is stale

    # a cancellation gives the seat back
    r.set(f"user:bookings:{contact}", "[]")
    cancel(conn, booking["booking_id"])
    position, _, _ = sync(conn, keeper, position)
    assert r.get(f"capacity:{exam}") == "5"
    assert r.get(f"exam:{exam}:bookings") == "0"
    assert r.exists(f"user:bookings:{contact}") == 0

    # a capacity change
    r.set("exams:list", "[]")
    one(conn, "SELECT hubspot_sync.set_exam_capacity(%s, 8)", (exam,))
    position, _, _ = sync(conn, keeper, position)
    assert r.get(f"capacity:{exam}") == "8"
    row = next(e for e in json.loads(r.get("user:exams:available")) if e["mock_exam_id"] == exam)
    assert row["capacity"] == 8 and row["remaining_seats"] == 8
    assert r.exists("exams:list") == 0

    # an exam change: deactivated, it leaves the available list but keeps its seat keys
    r.set("exams:list", "[]")
    conn.execute("UPDATE hubspot_sync.hubspot_mock_exams SET is_active = 'false' "
                 "WHERE hubspot_id = %s", (exam,))
    position, _, _ = sync(conn, keeper, position)
    assert exam not in [e["mock_exam_id"] for e in json.loads(r.get("user:exams:available"))]
    assert r.get(f"capacity:{exam}") == "8"
    assert r.exists("exams:list") == 0

    # an exam deleted: its keys go
    conn.execute("DELETE FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s", (exam,))
    position, _, _ = sync(conn, keeper, position)
    assert r.exists(f"capacity:{exam}", f"exam:{exam}:bookings") == 0
    assert redis_exam_keys(r) == db_keys(conn)


def join_waitlist(conn: psycopg.Connection, student: str, exam: str) -> dict:
    return one(conn, "SELECT hubspot_sync.join_waitlist(%s, %s, %s, 'mississauga')",
               (student, f"{student.lower()}@example.com", exam))


def test_seats_held_by_waitlist_offers_are_not_free(conn, r, keeper) -> None:
    """capacity:{exam} and user:exams:available count the seats held by waitlist offers (issue
    16): remaining = capacity - Active - held, as list_available_exams and take_seat count
    them; every waitlist move (offer made, expired, accepted) refreshes them."""
    exam = make_exam(conn, p_capacity=2)
    holders = [make_student(conn) for _ in range(2)]
    first, second = make_student(conn), make_student(conn)
    booked = [book(conn, s, exam) for s in holders]
    join_waitlist(conn, first, exam)
    join_waitlist(conn, second, exam)
    keeper.rebuild_all(conn)
    position = start_position(conn)

    def row() -> dict:
        rows = json.loads(r.get("user:exams:available"))
        return next(e for e in rows if e["mock_exam_id"] == exam)

    # a cancellation frees a seat, at once held for `first`: still no seat for anyone else
    cancel(conn, booked[0]["booking_id"])
    position, _, changes = sync(conn, keeper, position)
    assert "waitlist_entries" in {c.table for c in changes}
    assert r.get(f"capacity:{exam}") == "0"
    assert r.get(f"exam:{exam}:bookings") == "1"
    assert row()["remaining_seats"] == 0 and row()["held_seats"] == 1
    assert row() == next(e for e in available_rows(conn) if e["mock_exam_id"] == exam)
    assert redis_exam_keys(r) == db_keys(conn)

    # the offer expires: the seat passes to `second`, still held
    conn.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now() "
                 "WHERE student_id = %s", (first,))
    one(conn, "SELECT hubspot_sync.process_waitlist()")
    position, _, _ = sync(conn, keeper, position)
    assert r.get(f"capacity:{exam}") == "0" and row()["held_seats"] == 1

    # `second` leaves with nobody waiting: the seat is free again (only a waitlist row changed)
    one(conn, "SELECT hubspot_sync.leave_waitlist(%s, %s)", (second, exam))
    position, _, changes = sync(conn, keeper, position)
    assert {c.table for c in changes} == {"waitlist_entries"}
    assert r.get(f"capacity:{exam}") == "1"
    assert row()["remaining_seats"] == 1 and row()["held_seats"] == 0
    assert redis_exam_keys(r) == db_keys(conn)

    # a rebuild counts held seats the same way
    book(conn, make_student(conn), exam)
    join_waitlist(conn, make_student(conn), exam)
    cancel(conn, booked[1]["booking_id"])  # offered at once
    r.flushdb()
    keeper.rebuild_all(conn)
    assert r.get(f"capacity:{exam}") == "0" and row()["held_seats"] == 1
    assert redis_exam_keys(r) == db_keys(conn)


def test_rebook_refreshes_both_exams(conn, r, keeper) -> None:
    first = make_exam(conn, p_capacity=2)
    second = make_exam(conn, p_capacity=2)
    student = make_student(conn)
    booking = book(conn, student, first)
    keeper.rebuild_all(conn)
    assert r.get(f"capacity:{first}") == "1"
    position = start_position(conn)
    one(conn, "SELECT tests.rpc('service_role', format('hubspot_sync.rebook(p_booking_id := %%L, "
              "p_new_mock_exam_id := %%L, p_idempotency_key := %%L)', %s::text, %s::text, "
              "%s::text))", (booking["booking_id"], second, str(uuid.uuid4())))
    sync(conn, keeper, position)
    assert r.get(f"capacity:{first}") == "2"
    assert r.get(f"capacity:{second}") == "1"
    assert redis_exam_keys(r) == db_keys(conn)


def test_contact_changes_drop_booking_lists_only_when_the_id_changes(conn, r, keeper) -> None:
    student = make_student(conn)
    keeper.rebuild_all(conn)
    position = start_position(conn)
    r.set(f"user:bookings:C{student}", "[]")
    conn.execute("UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = 9, firstname = 'X' "
                 "WHERE student_id = %s", (student,))
    position, result, changes = sync(conn, keeper, position)
    assert [c.table for c in changes] == ["hubspot_contact_credits"]
    assert result == cache.CacheUpdate(0, 0)
    assert r.exists(f"user:bookings:C{student}") == 1  # credits are not in a booking list

    r.set(f"user:bookings:NEW{student}", "[]")
    conn.execute("UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = %s "
                 "WHERE student_id = %s", (f"NEW{student}", student))
    sync(conn, keeper, position)
    assert r.exists(f"user:bookings:C{student}", f"user:bookings:NEW{student}") == 0


def test_booking_without_contact_id_finds_the_contact_by_student_id(conn, r, keeper) -> None:
    """A booking made before its contact had a HubSpot id still drops the list cached under
    the id the contact has now."""
    exam = make_exam(conn)
    student = make_student(conn)
    conn.execute("UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = NULL "
                 "WHERE student_id = %s", (student,))
    keeper.rebuild_all(conn)
    position = start_position(conn)
    book(conn, student, exam)
    conn.execute("UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = %s "
                 "WHERE student_id = %s", (f"LATE{student}", student))
    _, changes = changes_since(conn, position)
    bookings = [c for c in changes if c.table == "hubspot_bookings"]
    assert bookings and bookings[0].new["associated_contact_id"] is None
    r.set(f"user:bookings:LATE{student}", "[]")
    keeper.apply_changes(conn, bookings)
    assert r.exists(f"user:bookings:LATE{student}") == 0
    assert r.get(f"capacity:{exam}") == "9"


def test_plan_of_a_waitlist_change() -> None:
    """A waitlist place's change refreshes its exam's keys and drops its student's list."""
    place = {"id": 7, "mock_exam_id": "EX9", "student_id": "S9", "status": "waiting"}
    plan = plan_changes([Change(1, "waitlist_entries", "UPDATE", place,
                                {**place, "status": "offered"})])
    assert plan.exams == {"EX9"} and plan.students == {"S9"} and not plan.exams_list


def test_plan_of_a_booking_moved_between_exams_and_contacts() -> None:
    change = Change(1, "hubspot_bookings", "UPDATE",
                    {"associated_mock_exam": "E1", "associated_contact_id": "C1"},
                    {"associated_mock_exam": "E2", "associated_contact_id": "C2"})
    plan = plan_changes([change])
    assert plan.exams == {"E1", "E2"} and plan.contacts == {"C1", "C2"}
    assert not plan.exams_list
    deleted = plan_changes([Change(2, "hubspot_contact_credits", "DELETE",
                                   {"hubspot_id": "C3"}, None)])
    assert deleted.contacts == {"C3"} and not deleted.exams
    assert plan_changes([Change(3, "hubspot_contact_credits", "INSERT", None,
                                {"hubspot_id": "C4"})]).contacts == {"C4"}
    assert plan_changes([Change(4, "hubspot_contact_credits", "UPDATE",
                                {"hubspot_id": "C5", "sj_credits": 1},
                                {"hubspot_id": "C5", "sj_credits": 0})]).empty


# -- driving it from the outbox ------------------------------------------------------------


def test_watcher_applies_a_committed_booking(cache_db, conn, r, keeper) -> None:
    """The worker's path: the outbox watch (its high-water mark polled every 50 ms) sees the
    commit, changes_since reads the outbox, apply_changes updates the keys. The booking is
    committed by another connection once the watch has looked and seen nothing; the
    assertions are on the key values (speed belongs in the benchmarks)."""
    exam = make_exam(conn, p_capacity=7)
    student = make_student(conn)
    keeper.rebuild_all(conn)
    position = start_position(conn)

    with psycopg.connect(cache_db, autocommit=True) as watcher:
        watch = OutboxWatch(watcher)
        assert watch.poll() == 0  # nothing new yet
        with psycopg.connect(cache_db, autocommit=True) as other:
            book(other, student, exam)
        found = wait_until("the watch to see the commit", watch.poll, interval=0.05)
        position, changes = changes_since(watcher, position)
        keeper.apply_changes(watcher, changes)
    assert found >= 3  # the booking, its contact's credits and its exam's total
    assert {c.table for c in changes} >= {"hubspot_bookings", "hubspot_mock_exams"}
    assert r.get(f"capacity:{exam}") == "6"
    assert r.get(f"exam:{exam}:bookings") == "1"


def test_watch_reads_the_outbox_only_when_its_mark_moves(cache_db, conn) -> None:
    """Idle, a poll is one read of the sequence: the outbox itself is not read. A rolled-back
    change moves the mark but commits nothing; a transaction still open when the mark moved is
    seen when it commits, without the mark moving again (a booking waiting for a lock commits
    late)."""
    watch = OutboxWatch(conn, settle_seconds=30)
    watch.moved_at = float("-inf")  # nothing in flight at the start of this test
    reads = watch.reads
    for _ in range(5):
        assert watch.poll() == 0
    assert watch.reads == reads

    with psycopg.connect(cache_db) as writer:
        writer.execute("SELECT tests.make_student(p_sj := 1)")
        writer.rollback()
        assert watch.poll() == 0 and watch.reads == reads + 1 and watch.pending

        writer.execute("SELECT tests.make_student(p_sj := 1)")  # open: the mark moved
        assert outbox_mark(conn) > watch.mark
        assert watch.poll() == 0  # not committed yet
        mark = watch.mark
        writer.commit()
    assert watch.poll() >= 1  # seen at its commit, the mark unchanged
    assert watch.mark == mark == outbox_mark(conn)
    assert watch.poll() == 0


def test_watch_with_a_non_autocommit_connection_is_refused(cache_db) -> None:
    with psycopg.connect(cache_db) as not_autocommit, pytest.raises(ValueError):
        OutboxWatch(not_autocommit)


def test_changes_committed_out_of_id_order_are_not_missed(cache_db, conn, r, keeper) -> None:
    """Bookings commit in any order; a row with a lower id that commits later (it was a gap
    when the higher ids were read) is still delivered, and its keys updated."""
    slow_exam, fast_exam = make_exam(conn), make_exam(conn)
    slow_student, fast_student = make_student(conn), make_student(conn)
    keeper.rebuild_all(conn)
    position = start_position(conn)
    start = position.last_id  # ids below: rolled back by earlier tests (gaps until the grace)
    with psycopg.connect(cache_db) as slow:
        book(slow, slow_student, slow_exam)  # inserted, not committed: its ids come first
        book(conn, fast_student, fast_exam)
        position, changes = changes_since(conn, position)
        keeper.apply_changes(conn, changes)
        assert {c.new["associated_mock_exam"] for c in changes
                if c.table == "hubspot_bookings"} == {fast_exam}
        assert position.gaps, "the uncommitted ids are remembered"
        assert r.get(f"capacity:{fast_exam}") == "9"
        slow.commit()
    position, changes = changes_since(conn, position)
    keeper.apply_changes(conn, changes)
    assert {c.new["associated_mock_exam"] for c in changes
            if c.table == "hubspot_bookings"} == {slow_exam}
    assert max(c.id for c in changes) < position.last_id
    assert r.get(f"capacity:{slow_exam}") == "9"
    assert not [g for g, _ in position.gaps if g > start]
    # nothing new: nothing returned
    assert changes_since(conn, position)[1] == []


def test_changes_since_includes_done_rows_and_gives_up_on_rolled_back_ids(conn) -> None:
    position = start_position(conn, gap_grace=0.0)  # earlier tests' rolled-back ids: given up
    exam = make_exam(conn)
    conn.execute("UPDATE hubspot_sync.sync_queue SET done_at = now() WHERE id > %s",
                 (position.last_id,))
    with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():
        make_exam(conn)  # rolled back: a permanent gap
        conn.execute("SELECT 1/0")
    third = make_exam(conn)
    position, changes = changes_since(conn, position, gap_grace=0.0)
    ids = [c.new["hubspot_id"] for c in changes]
    assert ids == [exam, third]
    assert [i for i, _ in position.gaps] == [position.last_id - 1]  # the rolled-back id
    later, again = changes_since(conn, position)
    assert again == [] and later.last_id == position.last_id
    assert later.gaps == ()  # asked once more, then given up (gap_grace 0)
    # an int position works too (no gap memory)
    assert [c.id for c in changes_since(conn, 0)[1]][-1] == position.last_id


# -- Redis away ----------------------------------------------------------------------------


def glue_cache_warnings(caplog) -> list[str]:
    return [rec.getMessage() for rec in caplog.records
            if rec.name == "glue.cache" and rec.levelno >= logging.WARNING]


def test_redis_down_is_a_no_op_with_one_warning(conn, caplog) -> None:
    caplog.set_level(logging.INFO, logger="glue.cache")
    exam = make_exam(conn)
    keeper = CacheKeeper("redis://127.0.0.1:1/9", probe_interval=0)
    position = start_position(conn)
    assert keeper.rebuild_all(conn) is None
    for _ in range(3):
        book(conn, make_student(conn), exam)  # the database is unaffected
        position, changes = changes_since(conn, position)
        assert changes
        assert keeper.apply_changes(conn, changes) is None
    assert keeper.rebuild_all(conn) is None
    assert not keeper.available
    warnings = glue_cache_warnings(caplog)
    assert len(warnings) == 1 and "127.0.0.1:1" in warnings[0]
    assert one(conn, "SELECT tests.total(%s)", (exam,)) == 3


def test_redis_unset_is_a_no_op_with_one_warning(conn, caplog) -> None:
    keeper = CacheKeeper(None)
    assert keeper.rebuild_all(conn) is None
    assert keeper.apply_changes(conn, []) is None
    assert keeper.apply_changes(conn, [Change(1, "hubspot_mock_exams", "DELETE",
                                              {"hubspot_id": "X"}, None)]) is None
    warnings = glue_cache_warnings(caplog)
    assert len(warnings) == 1 and "REDIS_URL" in warnings[0]


def test_malformed_redis_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="REDIS_URL"):
        CacheKeeper("http://127.0.0.1:6379")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int, workdir: Path) -> subprocess.Popen:
    server = shutil.which("redis-server")
    # The machine kinds this project runs on ship redis-server; its absence is a failure.
    assert server is not None, "redis-server is not installed: the Redis-restart test needs it"
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            assert proc.poll() is None, "private redis-server exited"
            return False

    wait_until("the private redis-server", answers, timeout=30)
    return proc


def test_redis_restart_rebuilds_the_keys(conn, tmp_path, caplog) -> None:
    """A private redis-server is stopped mid-work and started again, empty: nothing raises,
    one warning, and the first call after it answers rebuilds every key, including the seats
    taken while it was away."""
    caplog.set_level(logging.INFO, logger="glue.cache")
    port = free_port()
    proc = start_redis(port, tmp_path)
    keeper = CacheKeeper(f"redis://127.0.0.1:{port}/0", probe_interval=0)
    try:
        exam = make_exam(conn, p_capacity=6)
        assert keeper.rebuild_all(conn).rebuilt
        position = start_position(conn)
        proc.terminate()
        proc.wait(10)

        book(conn, make_student(conn), exam)
        position, changes = changes_since(conn, position)
        assert keeper.apply_changes(conn, changes) is None
        book(conn, make_student(conn), exam)
        position, changes = changes_since(conn, position)
        assert keeper.apply_changes(conn, changes) is None
        assert len(glue_cache_warnings(caplog)) == 1

        proc = start_redis(port, tmp_path)
        result = keeper.apply_changes(conn, [])
        assert result is not None and result.rebuilt
        fresh = redis.Redis(port=port, decode_responses=True)
        assert fresh.get(f"capacity:{exam}") == "4"
        assert fresh.get(f"exam:{exam}:bookings") == "2"
        assert json.loads(fresh.get("user:exams:available")) == available_rows(conn)
        assert any("answers again" in rec.getMessage() for rec in caplog.records)
        assert len(glue_cache_warnings(caplog)) == 1

        # and back to incremental updates
        book(conn, make_student(conn), exam)
        position, changes = changes_since(conn, position)
        assert not keeper.apply_changes(conn, changes).rebuilt
        assert fresh.get(f"capacity:{exam}") == "3"
        fresh.close()
    finally:
        keeper.close()
        proc.terminate()
        proc.wait(10)


def test_keys_lost_without_an_error_are_rebuilt(conn, r, keeper, caplog) -> None:
    """FLUSHDB (or a restart between two calls) loses the keys with no error to see: the
    marker key tells the next update, even an empty one, which rebuilds at once."""
    caplog.set_level(logging.INFO, logger="glue.cache")
    exam = make_exam(conn, p_capacity=3)
    keeper.rebuild_all(conn)
    assert keeper.apply_changes(conn, []) == cache.CacheUpdate(0, 0)
    r.flushdb()
    result = keeper.apply_changes(conn, [])
    assert result is not None and result.rebuilt
    assert r.get(f"capacity:{exam}") == "3"
    assert r.exists(cache.MARKER_KEY) == 1
    assert glue_cache_warnings(caplog) == []
    assert any("lost the cache keys" in rec.getMessage() for rec in caplog.records)


def test_quick_redis_restart_between_calls(conn, tmp_path) -> None:
    port = free_port()
    proc = start_redis(port, tmp_path)
    keeper = CacheKeeper(f"redis://127.0.0.1:{port}/0", probe_interval=0)
    try:
        exam = make_exam(conn, p_capacity=3)
        keeper.rebuild_all(conn)
        proc.terminate()
        proc.wait(10)
        proc = start_redis(port, tmp_path)
        fresh = redis.Redis(port=port, decode_responses=True)
        assert fresh.get(f"capacity:{exam}") is None
        # redis-py reconnects by itself (the marker then finds the keys gone) or reports the
        # dropped connection (an outage; the next call finds Redis back): either way, rebuilt
        results = [keeper.apply_changes(conn, []) for _ in range(2)]
        print(f"\nafter a quick restart: {results}")
        assert any(result is not None and result.rebuilt for result in results)
        assert fresh.get(f"capacity:{exam}") == "3"
        fresh.close()
    finally:
        keeper.close()
        proc.terminate()
        proc.wait(10)


def test_database_error_mid_apply_marks_keys_for_rebuild(conn, r, keeper) -> None:
    keeper.rebuild_all(conn)
    change = Change(1, "hubspot_mock_exams", "UPDATE", {"hubspot_id": "E"}, {"hubspot_id": "E"})
    with psycopg.connect(conn.info.dsn, autocommit=True) as broken:
        broken.close()
        with pytest.raises(psycopg.OperationalError):
            keeper.apply_changes(broken, [change])
    assert keeper.apply_changes(conn, []).rebuilt
