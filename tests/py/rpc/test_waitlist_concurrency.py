"""Concurrency proof of the waitlist on real connections.

A rush of 500 students on a 20-seat exam with a 200-place waitlist, then rounds in which
cancellations, offer acceptances (every waiting student polls accept_offer), departures from the
waitlist, offer expiries (the expiry time moved to now, then process_waitlist) and a raised
capacity run interleaved on up to test_concurrency.MAX_CONNECTIONS connections. Throughout (a
sampler reads consistent snapshots while the calls run) and at the end: never more Active
bookings + held offers than seats; every offer ends accepted, expired or left exactly once (one
successful accept per accepted place, one expiry counted by process_waitlist per expired place);
the invariants. process_waitlist is global: the run's database is shared by every test of
the pytest process, so expiries it makes on other exams (a stale offer is planted on one) are
accounted separately.

Every call is made as an app makes it: BUSY (a lock not granted within mockbook.lock_timeout,
the RPC contract) is a legitimate answer under contention, and the app retries the same call, as
docs/rpc.md tells it to. The rush's outcome counts are exact only because of that: on a loaded
machine the successful joins of one exam, which take turns on its row lock, waited longer than
the 2 s timeout, and the BUSY answers took the place of some WAITLIST_FULL ones. So that this is
not left to the machine's load, a lock holder stalls the exam for longer than the timeout in the
middle of the rush in every run (Stall): the joins behind it answer BUSY and are retried, and
the counts must still come out exact.

The connection pool, the barrier and the outcome bookkeeping are test_concurrency's.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc
from psycopg.types.json import Jsonb
from test_concurrency import (
    DOCUMENTED,
    MAX_CONNECTIONS,
    BusyRetries,
    book,
    connection_budget,
    email,
    make_exams,
    make_students,
    retrying_busy,
    run_concurrently,
    scalar,
)

WAITLIST_AND_RULE_CODES = {
    "OFFER_NOT_FOUND": "PT404", "EXAM_NOT_FULL": "PT409", "WAITLIST_FULL": "PT409",
    "OFFER_EXPIRED": "PT409", "TIME_CONFLICT": "PT409", "BOOKING_CLOSED": "PT409",
    "CANCELLATION_CLOSED": "PT409", "BOOKING_LIMIT_REACHED": "PT422"}
CODES = DOCUMENTED | WAITLIST_AND_RULE_CODES

WAITLIST_SIZE = 200

SEATS_HELD = """
    SELECT e.capacity, e.total_bookings,
           (SELECT count(*) FROM hubspot_sync.hubspot_bookings b
            WHERE b.associated_mock_exam = e.hubspot_id AND b.is_active = 'Active'),
           -- an offer holds its seat until its instant, not until the job marks it expired;
           -- read at the instant of this statement's snapshot (statement_timestamp(), not the
           -- transaction's start: a booking may take an expired offer's seat in between)
           (SELECT count(*) FROM hubspot_sync.waitlist_entries w
            WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'offered'
              AND w.offer_expires_at > statement_timestamp())
    FROM hubspot_sync.hubspot_mock_exams e WHERE e.hubspot_id = %s"""


def bad_errors(outcomes: list[Any]) -> list[str]:
    bad = []
    for o in outcomes:
        if o.error is None:
            continue
        if isinstance(o.error, RpcError) and CODES.get(o.error.code) == o.error.sqlstate:
            continue
        bad.append(f"{type(o.error).__name__} [{getattr(o.error, 'sqlstate', None)}] {o.error}")
    return bad


@pytest.fixture
def waitlist_of_200(db: psycopg.Connection) -> Iterator[None]:
    """waitlist_size 200 for this test (the rules table is global), put back afterwards."""
    old = scalar(db, "SELECT value FROM hubspot_sync.booking_rules WHERE rule = 'waitlist_size'")
    db.execute("UPDATE hubspot_sync.booking_rules SET value = %s WHERE rule = 'waitlist_size'",
               (Jsonb(WAITLIST_SIZE),))
    yield
    db.execute("UPDATE hubspot_sync.booking_rules SET value = %s WHERE rule = 'waitlist_size'",
               (Jsonb(old),))


class Sampler:
    """Reads the exam's seats in consistent snapshots while the calls run; remembers every
    state where Active + held > capacity or total_bookings != Active."""

    def __init__(self, url: str, exam: str) -> None:
        self.url, self.exam = url, exam
        self.stop = threading.Event()
        self.samples = 0
        self.broken: list[tuple[int, int, int, int]] = []
        self.thread = threading.Thread(target=self.run, name="mb-sampler")

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                with conn.transaction():
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    cap, total, active, held = conn.execute(SEATS_HELD, (self.exam,)).fetchone()
                self.samples += 1
                if active + held > cap or total != active:
                    self.broken.append((cap, total, active, held))

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


class Stall:
    """Once the rush's first student is on the waitlist, holds the exam's row lock from a
    connection of its own for mockbook.lock_timeout + 1 s: a lock holder stalled on a loaded
    server, made deterministic. Every join that queues behind it in its first second answers
    BUSY (the wait is bounded) and is retried."""

    def __init__(self, url: str, exam: str) -> None:
        self.url, self.exam = url, exam
        self.stop = threading.Event()
        self.waiting_at_start: int | None = None  # places taken when the lock was granted
        self.thread = threading.Thread(target=self.run, name="mb-stall")

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not scalar(conn, "SELECT count(*) FROM hubspot_sync.waitlist_entries"
                                   " WHERE mock_exam_id = %s", (self.exam,)):
                if self.stop.wait(0.01):
                    return
            with conn.transaction():
                conn.execute("SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                             " FOR NO KEY UPDATE", (self.exam,))
                self.waiting_at_start = scalar(
                    conn, "SELECT count(*) FROM hubspot_sync.waitlist_entries"
                          " WHERE mock_exam_id = %s AND status = 'waiting'", (self.exam,))
                # the stall is the scenario: the exam's lock held past mockbook.lock_timeout, so
                # the calls behind it answer BUSY (not a wait for a condition)
                conn.execute("SELECT pg_sleep(extract(epoch FROM coalesce(nullif(current_setting("
                             "'mockbook.lock_timeout', true), ''), '2s')::interval) + 1)")

    def __enter__(self) -> Stall:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


Task = Callable[[psycopg.Connection], Any]


def call(fn: str, **args: Any) -> Task:
    return lambda conn: rpc(conn, fn, **args)


def expire_some(exam: str, every: int) -> Task:
    """Time passes for some held offers (their expiry moved to now), then the job runs."""
    def task(conn: psycopg.Connection) -> Any:
        conn.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now()"
                     " WHERE mock_exam_id = %s AND status = 'offered' AND id %% %s = 0",
                     (exam, every))
        return rpc(conn, "process_waitlist")
    return task


def stale_offer_elsewhere(db: psycopg.Connection) -> str:
    """An offer on another exam already past its expiry, as an earlier test in the same run
    may leave one (test_error_codes' OFFER_EXPIRED; or any offer once offer_hold_minutes has
    passed on a slow run): process_waitlist is global, so the job expires it too."""
    (exam,) = make_exams(db, 1, capacity=1, first_day=45)
    holder, waiting = make_students(db, 2, p_sj=1)
    booked = book(holder, exam)(db)
    rpc(db, "join_waitlist", p_student_id=waiting, p_email=email(waiting), p_mock_exam_id=exam,
        p_attending_location="mississauga")
    rpc(db, "cancel_booking", p_booking_id=booked["booking_id"])  # the seat is offered
    db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now() - interval"
               " '1 second' WHERE mock_exam_id = %s AND status = 'offered'", (exam,))
    return exam


def expired_elsewhere(db: psycopg.Connection, exam: str) -> int:
    """Places of the other exams that ended 'expired' (only process_waitlist expires one)."""
    return scalar(db, "SELECT count(*) FROM hubspot_sync.waitlist_entries"
                      " WHERE mock_exam_id <> %s AND status = 'expired'", (exam,))


def statuses_of(db: psycopg.Connection, exam: str) -> Counter[str]:
    return Counter(r[0] for r in db.execute(
        "SELECT status FROM hubspot_sync.waitlist_entries WHERE mock_exam_id = %s", (exam,)))


@pytest.mark.usefixtures("waitlist_of_200")
def test_rush_500_students_20_seats_200_waitlist(db: psycopg.Connection,
                                                 database_url: str) -> None:
    (exam,) = make_exams(db, 1, capacity=20, first_day=40)
    students = make_students(db, 500, p_sj=2)
    stale_offer_elsewhere(db)
    expired_elsewhere_before = expired_elsewhere(db, exam)
    snap = snapshot(db)
    connections = connection_budget(db, MAX_CONNECTIONS)
    rng = random.Random(16)
    rush_retries = BusyRetries()
    round_retries = 0

    def book_or_wait(student: str) -> Task:
        booking = retrying_busy(book(student, exam), rush_retries)
        joining = retrying_busy(call("join_waitlist", p_student_id=student,
                                     p_email=email(student), p_mock_exam_id=exam,
                                     p_attending_location="mississauga"), rush_retries)

        def task(conn: psycopg.Connection) -> Any:
            try:
                return ("booked", booking(conn))
            except RpcError as err:
                if err.code != "EXAM_FULL":
                    raise
            return ("waiting", joining(conn))
        return task

    accepts: Counter[int] = Counter()   # waitlist_id -> successful (non-replay) accepts
    # booking id -> successful (non-replay) direct bookings: a student whose own offer is held
    # books its seat with create_booking too, the place then 'accepted' with that booking
    direct: Counter[str] = Counter()
    expired_by_job = 0
    with Sampler(database_url, exam) as sampler:
        # 1. the rush, stalled once
        with Stall(database_url, exam) as stall:
            rush = run_concurrently(database_url, [book_or_wait(s) for s in students],
                                    connections)
        assert bad_errors(rush) == []
        kinds = Counter(o.value[0] for o in rush if o.error is None)
        assert kinds["booked"] == 20
        assert kinds["waiting"] == WAITLIST_SIZE
        assert Counter(o.code for o in rush if o.error is not None) == Counter(
            {"WAITLIST_FULL": 280})
        # the stall began while places were still free: the joins behind it were answered BUSY
        # and retried (if a very slow box saw the first place only after the last, it proves
        # nothing here)
        assert stall.waiting_at_start is not None
        if stall.waiting_at_start < WAITLIST_SIZE:
            assert rush_retries.count > 0
        booked = [o.value[1]["booking_id"] for o in rush if o.error is None
                  and o.value[0] == "booked"]
        waiting = [s for s, o in zip(students, rush, strict=True)
                   if o.error is None and o.value[0] == "waiting"]

        # 2. rounds of cancellations, accepts, departures, expiries and a capacity raise
        to_cancel = list(booked)
        rng.shuffle(to_cancel)
        leavers = set(rng.sample(waiting, 20))
        for round_no in range(6):
            tasks: list[Task] = []
            tasks += [call("cancel_booking", p_booking_id=b) for b in to_cancel[:4]]
            del to_cancel[:4]
            tasks += [call("accept_offer", p_student_id=s, p_email=email(s), p_mock_exam_id=exam)
                      for s in waiting]
            tasks += [call("leave_waitlist", p_student_id=s, p_mock_exam_id=exam)
                      for s in leavers if rng.random() < 0.3]
            tasks += [expire_some(exam, every) for every in (2, 3, 5)]
            if round_no == 2:
                tasks.append(call("set_exam_capacity", p_mock_exam_id=exam, p_capacity=25))
            # bookings made from outside the waitlist must never take a held seat
            tasks += [book(s, exam) for s in rng.sample(students, 10)]
            rng.shuffle(tasks)
            retries = BusyRetries()
            outcomes = run_concurrently(database_url,
                                        [retrying_busy(t, retries) for t in tasks], connections)
            round_retries += retries.count
            assert bad_errors(outcomes) == []
            for o in outcomes:
                if o.error is None and isinstance(o.value, dict):
                    if ("waitlist_id" in o.value and "booking_id" in o.value
                            and not o.value["idempotent_replay"]):
                        accepts[o.value["waitlist_id"]] += 1
                    elif ("booking_id" in o.value and "idempotent_replay" in o.value
                          and not o.value["idempotent_replay"]):
                        direct[str(o.value["id"])] += 1
                    if "expired" in o.value:
                        expired_by_job += o.value["expired"]
        # 3. the rest of the offers run out
        while scalar(db, "SELECT count(*) FROM hubspot_sync.waitlist_entries"
                         " WHERE mock_exam_id = %s AND status = 'offered'", (exam,)):
            db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now()"
                       " WHERE mock_exam_id = %s AND status = 'offered'", (exam,))
            expired_by_job += rpc(db, "process_waitlist")["expired"]

    # the job's counts are global: the expiries it made on other exams meanwhile (at least the
    # stale offer above) are in expired_by_job too
    elsewhere = expired_elsewhere(db, exam) - expired_elsewhere_before
    print(f"\nwaitlist rush: the stall began with {stall.waiting_at_start} places taken;"
          f" BUSY answers retried: {rush_retries.count} in the rush, {round_retries} in the"
          f" rounds")
    print(f"waitlist rush: {sampler.samples} snapshots sampled, places"
          f" {dict(statuses_of(db, exam))}, accepts {sum(accepts.values())}, expiries counted by"
          f" the job {expired_by_job} ({elsewhere} of them on other exams)")
    assert elsewhere >= 1
    assert sampler.samples > 0
    assert sampler.broken == [], sampler.broken[:5]
    cap, total, active, held = db.execute(SEATS_HELD, (exam,)).fetchone()
    assert (cap, held) == (25, 0)
    assert total == active <= cap

    places = db.execute(
        "SELECT id, status, offered_at IS NOT NULL, booking_id FROM hubspot_sync.waitlist_entries"
        " WHERE mock_exam_id = %s", (exam,)).fetchall()
    assert len(places) == WAITLIST_SIZE
    statuses = Counter(p[1] for p in places)
    assert set(statuses) <= {"waiting", "accepted", "expired", "left"}, statuses
    offered = [p for p in places if p[2]]
    assert statuses["accepted"] > 0 and statuses["expired"] > 0, statuses
    for place_id, status, _, booking in places:
        if status == "accepted" and str(booking) in direct:
            accepts[place_id] += direct[str(booking)]
    # every offer ended exactly once: accepted by one successful accept_offer (or its student's
    # own create_booking), or expired once
    assert {p[0]: 1 for p in places if p[1] == "accepted"} == dict(accepts)
    assert statuses["expired"] + elsewhere == expired_by_job
    assert all(p[1] in ("accepted", "expired", "left") for p in offered)
    # each accepted place made one Active booking paid by one ledger row
    accepted_bookings = [p[3] for p in places if p[1] == "accepted"]
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.credit_ledger WHERE reason = 'booking'"
                      " AND booking_id = ANY(%s)", (accepted_bookings,)) == len(accepted_bookings)
    check_invariants(db, snap)
