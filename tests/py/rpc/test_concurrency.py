"""Concurrency proofs of the booking core on real connections.

Every scenario runs many threads, each with its own psycopg connection, released together by a
threading.Barrier, against the run's database; each works on its own fresh exams and students
and ends with the data model invariant checks (tests/py/invariants.py). The server usually
allows
100 connections, so the races use a bounded number of connections (at most MAX_CONNECTIONS, 40)
that pull the calls from a shared queue: at every moment up to 40 transactions run on the server
at once, which is the concurrency that matters (on CI's 2 cores, 20 times the cores). Calls go
through tests/py/postgrest.py, i.e. exactly as PostgREST makes them (role service_role, JWT
claims, one transaction per call).
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc
from waiting import wait_until

from glue.credit_fields import CREDIT_FIELD_NAMES
from glue.hubspot.catalogue import SYNCED

# the error contract: every documented code and its SQLSTATE.
DOCUMENTED = {
    "INVALID_ARGUMENT": "PT400", "INVALID_EXAM_TYPE": "PT400", "INSUFFICIENT_CREDITS": "PT402",
    "FORBIDDEN": "PT403", "CONTACT_NOT_FOUND": "PT404", "EXAM_NOT_FOUND": "PT404",
    "BOOKING_NOT_FOUND": "PT404", "EXAM_FULL": "PT409", "DUPLICATE_BOOKING": "PT409",
    "ALREADY_CANCELLED": "PT409", "NOT_CANCELLABLE": "PT409", "EXAM_NOT_ACTIVE": "PT409",
    "EXAM_IN_PAST": "PT409", "CREDIT_CONFLICT": "PT409", "IDEMPOTENCY_KEY_REUSED": "PT422",
    "PREREQUISITE_NOT_MET": "PT422", "CAPACITY_BELOW_BOOKED": "PT422",
    "REBOOK_NOT_ALLOWED": "PT422", "BUSY": "PT503",
}
# The most connections one race opens. The connection-heavy files (tests/conftest.py,
# CONNECTION_HEAVY) run one after the other, so at the peak of a `make test` run (4 xdist workers)
# the server holds one race (40, plus the test's own 2 or 3: its db fixture, a sampler, a lock
# holder) beside the other three workers' files (measured: at most about 5 each, the push
# worker's pool and the webhook server's) and the sampling of a `make test` measurement: about
# 60 of max_connections 100 (97 for clients), with room left for a loaded CI box's backends that
# are still exiting. 60 left too little room: 60 + 3 + 15 sat near the limit, and two races at
# once (test_idempotent_writes was not in the group) ran past it.
MAX_CONNECTIONS = 40
# How long run_concurrently waits for its connections' backends to exit after closing them: a
# closed connection's slot is free only once its backend has exited, which on a loaded box can
# come after the next race has opened its connections.
BACKEND_EXIT_WAIT_S = 30.0
# A guard against a hang (a lock wait that ignores mockbook.lock_timeout), not a timing assertion:
# a call that hits it fails the test with 57014, which no scenario accepts.
STATEMENT_TIMEOUT = "30s"


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def code(self) -> str | None:
        return self.error.code if isinstance(self.error, RpcError) else None


def connection_budget(db: psycopg.Connection, wanted: int) -> int:
    """How many more connections this test may open: at most `wanted` and MAX_CONNECTIONS,
    leaving room for the server's reserved slots and the rest of the test run."""
    max_conn, reserved, used = db.execute(
        "SELECT current_setting('max_connections')::int,"
        " current_setting('superuser_reserved_connections')::int,"
        " (SELECT count(*) FROM pg_stat_activity)::int").fetchone()
    budget = max_conn - reserved - used - 10
    assert budget >= 8, f"the server has room for only {budget} more connections"
    return max(1, min(wanted, MAX_CONNECTIONS, budget))


def run_concurrently(url: str, tasks: Sequence[Callable[[psycopg.Connection], Any]],
                     connections: int) -> list[Outcome]:
    """Run every task (a function of a connection) on `connections` connections at once.

    Each thread opens its own connection first, then all wait at a barrier, then they pull
    tasks from one queue until it is empty. Returns one Outcome per task, in task order, once
    the connections' backends have exited (their slots are free for the next race)."""
    count = max(1, min(connections, len(tasks)))
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(tasks)):
        todo.put(i)
    outcomes: list[Outcome | None] = [None] * len(tasks)
    barrier = threading.Barrier(count)
    setup_errors: list[BaseException] = []
    backends: list[int] = []

    def worker() -> None:
        try:
            conn = psycopg.connect(url, autocommit=True,
                                   options=f"-c statement_timeout={STATEMENT_TIMEOUT}")
        except BaseException as exc:  # reported after the join
            setup_errors.append(exc)
            barrier.abort()
            return
        backends.append(conn.info.backend_pid)
        with conn:
            try:
                barrier.wait(timeout=120)
            except threading.BrokenBarrierError:
                return
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcomes[i] = Outcome(value=tasks[i](conn))
                except Exception as exc:  # every outcome is asserted on
                    outcomes[i] = Outcome(error=exc)

    threads = [threading.Thread(target=worker, name=f"mb-worker-{n}") for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for_backends_to_exit(url, backends)
    assert not setup_errors, f"could not open the connections: {setup_errors[:3]}"
    missing = [i for i, o in enumerate(outcomes) if o is None]
    assert not missing, f"{len(missing)} tasks never ran"
    return [o for o in outcomes if o is not None]


def wait_for_backends_to_exit(url: str, pids: Sequence[int]) -> None:
    """Wait until the closed connections' backends are gone from pg_stat_activity (a backend
    leaves it on its way out, as it gives its connection slot back)."""
    with psycopg.connect(url, autocommit=True) as conn:
        wait_until("the closed connections' backends to exit",
                   lambda: not scalar(conn, "SELECT count(*) FROM pg_stat_activity"
                                            " WHERE pid = ANY(%s)", (list(pids),)),
                   timeout=BACKEND_EXIT_WAIT_S, interval=0.05)


def undocumented(outcomes: Sequence[Outcome]) -> list[str]:
    """Errors that are not documented mockbook errors with the right SQLSTATE."""
    bad = []
    for o in outcomes:
        if o.error is None:
            continue
        if isinstance(o.error, RpcError) and DOCUMENTED.get(o.error.code) == o.error.sqlstate:
            continue
        state = getattr(o.error, "sqlstate", None)
        bad.append(f"{type(o.error).__name__} [{state}] {o.error}")
    return bad


def scalar(db: psycopg.Connection, query: str, params: Sequence[Any] = ()) -> Any:
    return db.execute(query, params).fetchone()[0]


def make_exams(db: psycopg.Connection, count: int, *, mock_type: str = "Situational Judgment",
               capacity: int = 10, first_day: int = 7, step: int = 1) -> list[str]:
    """`count` bookable exams, on consecutive days (step) from today + first_day."""
    return [r[0] for r in db.execute(
        """SELECT tests.make_exam(p_mock_type := %s, p_capacity := %s,
                                  p_exam_date := hubspot_sync.business_today() + %s + g * %s)
           FROM generate_series(0, %s - 1) AS g ORDER BY g""",
        (mock_type, capacity, first_day, step, count))]


def make_students(db: psycopg.Connection, count: int, **credits: int) -> list[str]:
    args = ", ".join(f"{k} := %({k})s" for k in credits)
    return [r[0] for r in db.execute(
        f"SELECT tests.make_student({args}) FROM generate_series(1, %(n)s)",
        {**credits, "n": count})]


def email(student_id: str) -> str:
    return f"{student_id.lower()}@example.com"


def book(student: str, exam: str, key: str | None = None, **extra: Any,
         ) -> Callable[[psycopg.Connection], Any]:
    key = key or str(uuid.uuid4())
    extra.setdefault("p_attending_location", "mississauga")

    def call(conn: psycopg.Connection) -> Any:
        return rpc(conn, "create_booking", p_student_id=student, p_email=email(student),
                   p_mock_exam_id=exam, p_idempotency_key=key, **extra)

    return call


# How long BUSY answers are retried in one batch of calls: the same call again (the same
# idempotency key) after a pause of 50 ms doubling up to 1 s. A call still BUSY after that is an
# outcome like any other and breaks a test's exact counts (a function that always answered BUSY
# fails the test within a minute, it does not retry forever).
BUSY_RETRY_S = 60.0


class BusyRetries:
    """The BUSY retries of one batch of calls: how many, and until when they are made."""

    def __init__(self) -> None:
        self.until = time.monotonic() + BUSY_RETRY_S
        self.count = 0
        self.lock = threading.Lock()

    def note(self) -> None:
        with self.lock:
            self.count += 1


def retrying_busy(task: Callable[[psycopg.Connection], Any], retries: BusyRetries,
                  ) -> Callable[[psycopg.Connection], Any]:
    """The task as an app runs it (docs/rpc.md): BUSY is answered by the same call again,
    shortly."""
    def run(conn: psycopg.Connection) -> Any:
        pause = 0.05
        while True:
            try:
                return task(conn)
            except RpcError as err:
                if err.code != "BUSY" or time.monotonic() >= retries.until:
                    raise
            retries.note()
            # the app's jittered backoff before the same call again (docs/rpc.md): part of the
            # scenario (how far apart the retries come), not a wait for a condition
            time.sleep(random.uniform(pause / 2, pause))
            pause = min(2 * pause, 1.0)
    return run


def balances(db: psycopg.Connection, students: Sequence[str], field: str) -> dict[str, int]:
    # field is one of our own constants, never caller input
    return dict(db.execute(
        f"SELECT student_id, {field} FROM hubspot_sync.hubspot_contact_credits"
        " WHERE student_id = ANY(%s)", (list(students),)).fetchall())


def ledger_rows(db: psycopg.Connection, students: Sequence[str]) -> Counter[str]:
    return Counter(r[0] for r in db.execute(
        "SELECT student_id FROM hubspot_sync.credit_ledger WHERE student_id = ANY(%s)",
        (list(students),)))


# --------------------------------------------------------------------------------------------


def test_rush_300_students_10_seats(db: psycopg.Connection, database_url: str) -> None:
    """300 students race for 10 seats: exactly 10 bookings, everyone else EXAM_FULL, and no
    loser loses a credit. A call answered BUSY is made again with the same idempotency key, as
    docs/rpc.md tells apps to: BUSY is no final answer, and a would-be winner's BUSY would
    otherwise leave a seat free on a loaded machine."""
    (exam,) = make_exams(db, 1, capacity=10)
    students = make_students(db, 300, p_sj=1)
    snap = snapshot(db)

    outcomes = run_concurrently(database_url,
                                [retrying_busy(book(s, exam), BusyRetries()) for s in students],
                                connection_budget(db, MAX_CONNECTIONS))

    assert undocumented(outcomes) == []
    winners = [s for s, o in zip(students, outcomes, strict=True) if o.error is None]
    losers = [s for s, o in zip(students, outcomes, strict=True) if o.error is not None]
    assert len(winners) == 10
    codes = Counter(o.code for o in outcomes if o.error is not None)
    assert codes == {"EXAM_FULL": 290}, codes
    results = [o.value for o in outcomes if o.error is None]
    assert all(r["success"] and not r["idempotent_replay"] for r in results)
    assert sorted(r["total_bookings"] for r in results) == list(range(1, 11))
    assert len({r["booking_id"] for r in results}) == 10

    assert scalar(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                      " WHERE hubspot_id = %s", (exam,)) == 10
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings"
                      " WHERE associated_mock_exam = %s AND is_active = 'Active'", (exam,)) == 10
    assert balances(db, winners, "sj_credits") == dict.fromkeys(winners, 0)
    assert balances(db, losers, "sj_credits") == dict.fromkeys(losers, 1)
    assert ledger_rows(db, students) == Counter(dict.fromkeys(winners, 1))
    check_invariants(db, snap)


def test_one_idempotency_key_50_concurrent_calls(db: psycopg.Connection,
                                                 database_url: str) -> None:
    """50 identical calls with one key at once: one booking, one deduction, 49 replays, and
    every caller is told the same booking (never a raw unique violation)."""
    (exam,) = make_exams(db, 1, capacity=10)
    (student,) = make_students(db, 1, p_sj=5)
    key = f"idem-{uuid.uuid4()}"
    snap = snapshot(db)

    outcomes = run_concurrently(database_url, [book(student, exam, key)] * 50,
                                connection_budget(db, 50))

    assert undocumented(outcomes) == []
    assert [o.error for o in outcomes if o.error is not None] == []
    results = [o.value for o in outcomes]
    assert len({r["id"] for r in results}) == 1
    assert len({r["booking_id"] for r in results}) == 1
    assert Counter(r["idempotent_replay"] for r in results) == Counter({True: 49, False: 1})
    assert all(r["success"] for r in results)

    assert scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings"
                      " WHERE student_id = %s", (student,)) == 1
    assert scalar(db, "SELECT id::text FROM hubspot_sync.hubspot_bookings"
                      " WHERE idempotency_key = %s", (key,)) == str(results[0]["id"])
    assert balances(db, [student], "sj_credits") == {student: 4}
    assert ledger_rows(db, [student]) == Counter({student: 1})
    assert scalar(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                      " WHERE hubspot_id = %s", (exam,)) == 1
    check_invariants(db, snap)


def test_three_credits_twelve_exams_at_once(db: psycopg.Connection, database_url: str) -> None:
    """One student with 3 credits books 12 exams (different days, so only credits decide) at
    once: exactly 3 bookings, balance 0, the other 9 INSUFFICIENT_CREDITS."""
    exams = make_exams(db, 12, capacity=10, first_day=20)
    (student,) = make_students(db, 1, p_sj=3)
    snap = snapshot(db)

    outcomes = run_concurrently(database_url, [book(student, e) for e in exams],
                                connection_budget(db, 12))

    assert undocumented(outcomes) == []
    assert sum(o.error is None for o in outcomes) == 3
    assert Counter(o.code for o in outcomes if o.error) == Counter({"INSUFFICIENT_CREDITS": 9})
    assert sorted(o.value["credits_remaining"] for o in outcomes if o.error is None) == [0, 1, 2]
    assert balances(db, [student], "sj_credits") == {student: 0}
    assert balances(db, [student], "shared_mock_credits") == {student: 0}
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s"
                      " AND is_active = 'Active'", (student,)) == 3
    assert scalar(db, "SELECT sum(total_bookings) FROM hubspot_sync.hubspot_mock_exams"
                      " WHERE hubspot_id = ANY(%s)", (exams,)) == 3
    check_invariants(db, snap)


def test_hot_exam_waits_at_most_lock_timeout(db: psycopg.Connection, database_url: str) -> None:
    """While another transaction holds the exam row lock, create_booking gives up after
    mockbook.lock_timeout with BUSY (PT503) and changes nothing."""
    (exam,) = make_exams(db, 1, capacity=10)
    (student,) = make_students(db, 1, p_sj=1)
    snap = snapshot(db)
    before = db.execute("SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                        " WHERE hubspot_id = %s", (exam,)).fetchone()

    with psycopg.connect(database_url) as holder, \
            psycopg.connect(database_url, autocommit=True,
                            options=f"-c statement_timeout={STATEMENT_TIMEOUT}") as caller:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                       " FOR UPDATE", (exam,))
        caller.execute("SET mockbook.lock_timeout = '200ms'")
        with pytest.raises(RpcError) as info:
            book(student, exam)(caller)
        holder.rollback()

    assert (info.value.code, info.value.sqlstate, info.value.status) == ("BUSY", "PT503", 503)
    assert info.value.detail and info.value.hint
    assert db.execute("SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                      " WHERE hubspot_id = %s", (exam,)).fetchone() == before
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings"
                      " WHERE student_id = %s", (student,)) == 0
    assert balances(db, [student], "sj_credits") == {student: 1}
    check_invariants(db, snap)


def test_lock_timeout_bounds_only_the_lock_waits(db: psycopg.Connection,
                                                 database_url: str) -> None:
    """mockbook.lock_timeout bounds the waits for the documented locks (contact, booking, exam,
    idempotency key: BUSY), not the rest of the call: a booking whose ledger insert waits for
    another transaction's lock on the ledger (longer than the timeout) waits it out and
    succeeds. It used to fail with a raw 55P03: the lock helpers' timeout outlived them."""
    (exam,) = make_exams(db, 1, capacity=10)
    (student,) = make_students(db, 1, p_sj=1)
    snap = snapshot(db)
    with psycopg.connect(database_url) as holder, \
            psycopg.connect(database_url, autocommit=True,
                            options=f"-c statement_timeout={STATEMENT_TIMEOUT}") as caller:
        holder.execute("LOCK TABLE hubspot_sync.credit_ledger IN SHARE MODE")
        caller.execute("SET mockbook.lock_timeout = '200ms'")
        release = threading.Timer(1.5, holder.commit)
        release.start()
        try:
            result = book(student, exam)(caller)
        finally:
            release.join()

    assert result["booking_id"]
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings"
                      " WHERE student_id = %s AND is_active = 'Active'", (student,)) == 1
    assert balances(db, [student], "sj_credits") == {student: 0}
    check_invariants(db, snap)


def test_crossing_rebooks(db: psycopg.Connection, database_url: str) -> None:
    """30 students move at once between two exams in opposite directions (A -> B and B -> A):
    each rebook takes both exams last, always in hubspot_id order, so the crossing moves never
    deadlock. Every move succeeds (or is BUSY), both counts end right, no credit changes, and
    each moved booking still shows which credit paid for it."""
    exam_a, exam_b = make_exams(db, 2, capacity=30, first_day=40)
    students = make_students(db, 30, p_sj=1)
    origin = {s: (exam_a if i % 2 else exam_b) for i, s in enumerate(students)}
    codes = {s: book(s, origin[s])(db)["booking_id"] for s in students}
    snap = snapshot(db)

    def move(student: str) -> Callable[[psycopg.Connection], Any]:
        target = exam_b if origin[student] == exam_a else exam_a
        return lambda conn: rpc(conn, "rebook", p_booking_id=codes[student],
                                p_new_mock_exam_id=target,
                                p_idempotency_key=f"cross-{uuid.uuid4()}", p_actor="test")

    outcomes = run_concurrently(database_url, [move(s) for s in students],
                                connection_budget(db, 30))

    assert undocumented(outcomes) == []
    assert {o.code for o in outcomes if o.error} <= {"BUSY"}
    moved = [s for s, o in zip(students, outcomes, strict=True) if o.error is None]
    assert moved
    expected_a = sum((origin[s] == exam_a) != (s in moved) for s in students)
    assert scalar(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                      " WHERE hubspot_id = %s", (exam_a,)) == expected_a
    assert scalar(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                      " WHERE hubspot_id = %s", (exam_b,)) == len(students) - expected_a
    assert balances(db, students, "sj_credits") == dict.fromkeys(students, 0)
    check_invariants(db, snap)


# --- mixed load ------------------------------------------------------------------------------

MIXED_OPERATIONS = 1500
MIXED_CONNECTIONS = 16
MIXED_SEED = 20240603
CREDIT_FIELDS = CREDIT_FIELD_NAMES  # the one list (glue/credit_fields.py = the database's)
# (operation, weight, the documented codes it may legitimately answer under this load)
OPERATIONS = (
    ("book", 34, {"DUPLICATE_BOOKING", "EXAM_FULL", "INSUFFICIENT_CREDITS",
                  "IDEMPOTENCY_KEY_REUSED", "BUSY"}),
    ("cancel", 14, {"ALREADY_CANCELLED", "NOT_CANCELLABLE", "BOOKING_NOT_FOUND", "FORBIDDEN",
                    "BUSY"}),
    ("rebook", 10, {"REBOOK_NOT_ALLOWED", "EXAM_FULL", "DUPLICATE_BOOKING", "BOOKING_NOT_FOUND",
                    "IDEMPOTENCY_KEY_REUSED", "BUSY"}),
    ("mark_attendance", 10, {"BUSY"}),
    ("set_exam_capacity", 8, {"CAPACITY_BELOW_BOOKED", "BUSY"}),
    ("adjust_credits", 12, {"INSUFFICIENT_CREDITS", "BUSY"}),
    ("cancel_bookings", 6, {"BUSY"}),
    ("admin_create_booking", 6, {"DUPLICATE_BOOKING", "EXAM_FULL", "IDEMPOTENCY_KEY_REUSED",
                                 "BUSY"}),
)
ALLOWED = {name: codes for name, _, codes in OPERATIONS}
# Exams of the mixed load: (mock type, days from today, capacity). Two SJ and one CS share a
# day, so DUPLICATE_BOOKING happens; capacities are small, so EXAM_FULL happens.
MIXED_EXAMS = (
    ("Situational Judgment", 30, 5), ("Situational Judgment", 30, 4),
    ("Situational Judgment", 31, 6), ("Clinical Skills", 30, 4), ("Clinical Skills", 32, 5),
    ("Mini-mock", 33, 3), ("Mini-mock", 34, 4), ("Mock Discussion", 33, 3),
)


def type_args(mock_type: str, rng: random.Random) -> dict[str, str]:
    """The per-type arguments create_booking requires."""
    if mock_type in ("Situational Judgment", "Mini-mock"):
        return {"p_attending_location": rng.choice(("mississauga", "calgary", "vancouver"))}
    if mock_type == "Clinical Skills":
        return {"p_dominant_hand": rng.choice(("right", "left"))}
    return {}


class MixedLoad:
    """Builds the operations of the mixed load. Which operation each task is comes from one
    seeded generator; its details (which booking to cancel, ...) from a generator seeded by the
    task number, drawing on the bookings made so far (shared, behind a lock)."""

    def __init__(self, exams: list[tuple[str, str]], students: list[str], seed: int) -> None:
        self.exams = exams  # (hubspot id, mock type)
        self.students = students
        self.seed = seed
        self.lock = threading.Lock()
        self.bookings: list[tuple[str, str]] = []  # (booking code, student)
        self.placed: dict[str, tuple[str, str]] = {}  # booking code -> (exam, mock type)
        self.requests: list[dict[str, Any]] = []  # create_booking calls that succeeded
        self.kinds: list[str] = []

    def plan(self, count: int) -> list[Callable[[psycopg.Connection], Any]]:
        rng = random.Random(self.seed)
        names = [name for name, _, _ in OPERATIONS]
        weights = [weight for _, weight, _ in OPERATIONS]
        self.kinds = rng.choices(names, weights, k=count)
        return [self._task(i, kind) for i, kind in enumerate(self.kinds)]

    def _remember(self, result: Any, student: str) -> None:
        if isinstance(result, dict) and result.get("booking_id"):
            with self.lock:
                self.bookings.append((result["booking_id"], student))
                self.placed[result["booking_id"]] = (result.get("mock_exam_id", ""),
                                                     result.get("mock_type", ""))

    def _some_bookings(self, rng: random.Random, k: int) -> list[tuple[str, str]]:
        with self.lock:
            known = list(self.bookings)
        picked = rng.sample(known, min(k, len(known)))
        if not picked or rng.random() < 0.05:
            picked.append((f"BK-NOPE-{rng.randrange(10**6):06d}", rng.choice(self.students)))
        return picked

    def _task(self, i: int, kind: str) -> Callable[[psycopg.Connection], Any]:
        def run(conn: psycopg.Connection) -> Any:
            rng = random.Random(f"{self.seed}:{i}")
            return getattr(self, f"_op_{kind}")(conn, rng)
        return run

    def _op_book(self, conn: psycopg.Connection, rng: random.Random) -> Any:
        with self.lock:
            known = list(self.requests)
        if known and rng.random() < 0.1:  # a retry with a used key
            args = rng.choice(known)
            if rng.random() < 0.5:  # same key, other request -> IDEMPOTENCY_KEY_REUSED
                args = {**args, "p_student_id": rng.choice(self.students)}
                args["p_email"] = email(args["p_student_id"])
            return rpc(conn, "create_booking", **args)
        student = rng.choice(self.students)
        exam, mock_type = rng.choice(self.exams)
        args = {"p_student_id": student, "p_email": email(student), "p_mock_exam_id": exam,
                "p_idempotency_key": f"mix-{uuid.UUID(int=rng.getrandbits(128))}",
                **type_args(mock_type, rng)}
        result = rpc(conn, "create_booking", **args)
        self._remember(result, student)
        with self.lock:
            self.requests.append(args)
        return result

    def _op_admin_create_booking(self, conn: psycopg.Connection, rng: random.Random) -> Any:
        student = rng.choice(self.students)
        exam, mock_type = rng.choice(self.exams)
        result = rpc(conn, "admin_create_booking", p_student_id=student, p_email=email(student),
                     p_mock_exam_id=exam,
                     p_idempotency_key=f"adm-{uuid.UUID(int=rng.getrandbits(128))}",
                     p_actor="mixed-load-admin", p_override_capacity=False,
                     **type_args(mock_type, rng))
        self._remember(result, student)
        return result

    def _op_cancel(self, conn: psycopg.Connection, rng: random.Random) -> Any:
        ((code, student),) = self._some_bookings(rng, 1)[-1:]
        owner = rng.choice((None, student, student, rng.choice(self.students)))
        return rpc(conn, "cancel_booking", p_booking_id=code, p_student_id=owner,
                   p_refund=rng.random() < 0.8, p_reason="mixed load", p_actor="mixed-load")

    def _op_cancel_bookings(self, conn: psycopg.Connection, rng: random.Random) -> Any:
        codes = [code for code, _ in self._some_bookings(rng, rng.randint(1, 5))]
        return rpc(conn, "cancel_bookings", p_booking_ids=codes, p_refund=rng.random() < 0.8,
                   p_actor="mixed-load-admin")

    def _op_rebook(self, conn: psycopg.Connection, rng: random.Random) -> Any:
        with self.lock:  # recent bookings are the likeliest to be still Active
            recent = self.bookings[-15:]
            code, student = rng.choice(recent) if recent else ("BK-NONE", self.students[0])
            current = self.placed.get(code, ("", ""))
        others = [e for e in self.exams if e[1] == current[1] and e[0] != current[0]]
        exam, _ = rng.choice(others if others and rng.random() < 0.8 else self.exams)
        result = rpc(conn, "rebook", p_booking_id=code, p_new_mock_exam_id=exam,
                     p_idempotency_key=f"reb-{uuid.UUID(int=rng.getrandbits(128))}",
                     p_actor="mixed-load")
        self._remember(result, student)
        return result

    def _op_mark_attendance(self, conn: psycopg.Connection, rng: random.Random) -> Any:
        updates = [{"booking_id": code, "attendance": rng.choice(("Yes", "No", ""))}
                   for code, _ in self._some_bookings(rng, rng.randint(1, 4))]
        return rpc(conn, "mark_attendance", p_updates=updates, p_actor="mixed-load")

    def _op_set_exam_capacity(self, conn: psycopg.Connection, rng: random.Random) -> Any:
        exam, _ = rng.choice(self.exams)
        return rpc(conn, "set_exam_capacity", p_mock_exam_id=exam, p_capacity=rng.randint(0, 8))

    def _op_adjust_credits(self, conn: psycopg.Connection, rng: random.Random) -> Any:
        return rpc(conn, "adjust_credits", p_student_id=rng.choice(self.students),
                   p_credit_field=rng.choice(CREDIT_FIELDS),
                   p_delta=rng.choice((-2, -1, -1, 1, 1, 2, 3)), p_reason="mixed load",
                   p_actor="mixed-load")


def test_mixed_load_keeps_invariants(db: psycopg.Connection, database_url: str) -> None:
    """1,500 operations of every kind from 16 connections: the invariants hold, only documented
    errors reach a caller (each one plausible for its operation), and in particular no deadlock
    (40P01) or serialization failure (40001): the one lock order (contact, booking, exam last;
    several of a kind in id order) and the bounded lock waits make every transaction either
    succeed or fail cleanly."""
    rng = random.Random(MIXED_SEED)
    exams = []
    for mock_type, day, capacity in MIXED_EXAMS:
        exams.append((scalar(db, """SELECT tests.make_exam(p_mock_type := %s, p_capacity := %s,
                                   p_exam_date := hubspot_sync.business_today() + %s)""",
                             (mock_type, capacity, day)), mock_type))
    students = [scalar(db, "SELECT tests.make_student(%s, %s, %s, %s, %s)",
                       [rng.randint(0, 3) for _ in range(5)]) for _ in range(40)]
    snap = snapshot(db)

    load = MixedLoad(exams, students, MIXED_SEED)
    tasks = load.plan(MIXED_OPERATIONS)
    outcomes = run_concurrently(database_url, tasks, connection_budget(db, MIXED_CONNECTIONS))

    states = [getattr(o.error, "sqlstate", None) for o in outcomes if o.error is not None]
    assert [s for s in states if s in ("40P01", "40001")] == []
    assert undocumented(outcomes) == []
    unexpected = Counter((kind, o.code) for kind, o in zip(load.kinds, outcomes, strict=True)
                         if o.error is not None and o.code not in ALLOWED[kind])
    assert unexpected == Counter()
    succeeded = Counter(kind for kind, o in zip(load.kinds, outcomes, strict=True)
                        if o.error is None)
    # the load did exercise every operation (otherwise the proof is empty)
    assert set(succeeded) == set(ALLOWED), succeeded
    check_invariants(db, snap)


# --- the exam's lock is held only at the end ---------------------------------------


def test_exam_is_not_locked_while_a_booking_waits_for_its_contact(
        db: psycopg.Connection, database_url: str) -> None:
    """A booking waiting for its student's contact row (locked by another transaction) holds no
    lock on the exam: the exam's seat is taken by its last statement. So another student books
    the same exam meanwhile at once (with the exam locked first, as before, that call waited and
    answered BUSY). Both end booked; the invariants hold."""
    (exam,) = make_exams(db, 1, capacity=10)
    waiting, other = make_students(db, 2, p_sj=1)
    snap = snapshot(db)
    result: list[Outcome] = []

    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_contact_credits"
                       " WHERE student_id = %s FOR UPDATE", (waiting,))

        def blocked() -> None:
            with psycopg.connect(database_url, autocommit=True,
                                 options=f"-c statement_timeout={STATEMENT_TIMEOUT}") as conn:
                conn.execute("SET mockbook.lock_timeout = '20s'")
                try:
                    result.append(Outcome(value=book(waiting, exam)(conn)))
                except Exception as exc:
                    result.append(Outcome(error=exc))

        thread = threading.Thread(target=blocked)
        thread.start()
        for _ in range(200):  # until the call waits for the contact's lock
            if scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                          " AND query LIKE %s", ("%create_booking%",)):
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the first booking never waited for the contact's lock")
        with psycopg.connect(database_url, autocommit=True,
                             options=f"-c statement_timeout={STATEMENT_TIMEOUT}") as conn:
            conn.execute("SET mockbook.lock_timeout = '200ms'")
            second = book(other, exam)(conn)  # BUSY if the waiting call held the exam
        holder.rollback()
        thread.join()

    assert second["success"] and second["total_bookings"] == 1
    assert result[0].error is None, result[0].error
    assert result[0].value["total_bookings"] == 2
    check_invariants(db, snap)


def test_a_seat_taken_meanwhile_rolls_the_booking_back(
        db: psycopg.Connection, database_url: str) -> None:
    """The last seat is taken by a booking still open (not committed) when a second one starts:
    the second passes the unlocked checks (the seat looks free), inserts its booking, spends its
    credit, then its seat-taking UPDATE waits for the first; the first commits, the UPDATE finds
    no free seat: EXAM_FULL, and the second's booking, credit and ledger row are rolled back."""
    (exam,) = make_exams(db, 1, capacity=1)
    first, second = make_students(db, 2, p_sj=1)
    snap = snapshot(db)
    result: list[Outcome] = []

    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT tests.book(%s, %s, %s)", (first, exam, str(uuid.uuid4())))

        def late() -> None:
            with psycopg.connect(database_url, autocommit=True,
                                 options=f"-c statement_timeout={STATEMENT_TIMEOUT}") as conn:
                conn.execute("SET mockbook.lock_timeout = '20s'")
                try:
                    result.append(Outcome(value=book(second, exam)(conn)))
                except Exception as exc:
                    result.append(Outcome(error=exc))

        thread = threading.Thread(target=late)
        thread.start()
        for _ in range(200):  # until its seat-taking UPDATE waits for the exam's row
            if scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings AS b"
                          " WHERE b.student_id = %s", (second,)) == 0 and scalar(
                    db, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query LIKE %s", ("%create_booking%",)):
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the second booking never waited for the exam's row")
        holder.commit()
        thread.join()

    assert result[0].code == "EXAM_FULL", result[0].error
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings"
                      " WHERE student_id = %s", (second,)) == 0
    assert balances(db, [second], "sj_credits") == {second: 1}
    assert ledger_rows(db, [first, second]) == Counter({first: 1})
    assert scalar(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                      " WHERE hubspot_id = %s", (exam,)) == 1
    check_invariants(db, snap)


def test_mark_attendance_on_a_locked_booking_is_busy(db: psycopg.Connection,
                                                      database_url: str) -> None:
    """mark_attendance waiting for a booking row held by another transaction gives up after
    mockbook.lock_timeout with BUSY (PT503), never a raw 55P03, and changes nothing."""
    (exam,) = make_exams(db, 1, capacity=10)
    (student,) = make_students(db, 1, p_sj=1)
    code = book(student, exam)(db)["booking_id"]
    snap = snapshot(db)

    with psycopg.connect(database_url) as holder, \
            psycopg.connect(database_url, autocommit=True,
                            options=f"-c statement_timeout={STATEMENT_TIMEOUT}") as caller:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_bookings WHERE booking_id = %s"
                       " FOR UPDATE", (code,))
        caller.execute("SET mockbook.lock_timeout = '200ms'")
        with pytest.raises(RpcError) as info:
            rpc(caller, "mark_attendance",
                p_updates=[{"booking_id": code, "attendance": "Yes"}], p_actor="test")
        holder.rollback()

    assert (info.value.code, info.value.sqlstate) == ("BUSY", "PT503")
    assert scalar(db, "SELECT is_active FROM hubspot_sync.hubspot_bookings"
                      " WHERE booking_id = %s", (code,)) == "Active"
    check_invariants(db, snap)


# --- the pull and the push's write-back against the booking functions ------


def as_the_glue_sends(kind: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """HubSpot records with the ``unknown`` list the glue adds (glue.db.pull: the columns whose
    empty value the catalogue declares unknown)."""
    return [{**r, "unknown": SYNCED[kind].unknown(r["properties"])} for r in records]


def test_pull_and_write_back_against_the_booking_functions(db: psycopg.Connection,
                                                           database_url: str) -> None:
    """The pull's apply_pulled_exams / apply_pulled_contacts / apply_pulled_bookings (linking
    local bookings to their HubSpot ids, importing new Active ones and recounting their exam)
    and the push's complete_sync_batch run on real connections at the same time as
    create_booking, cancel_booking, rebook and mark_attendance on the same exams, students and
    bookings. Before the one lock order, apply_pulled_bookings (booking, then exam) and
    cancel_booking (exam, then booking) deadlocked: a raw 40P01. Now no caller sees a deadlock
    or any undocumented error; what the pull could not lock is in its retry list; the
    invariants hold."""
    rng = random.Random(20261123)
    exams = make_exams(db, 4, capacity=1000, first_day=50)
    students = make_students(db, 24, p_sj=4)
    booked: dict[str, str] = {}
    for i, student in enumerate(students[:16]):
        booked[student] = book(student, exams[i % 4])(db)["booking_id"]
    contacts = db.execute(
        "SELECT hubspot_id, id::text, student_id, email, firstname, lastname, sj_credits"
        " FROM hubspot_sync.hubspot_contact_credits WHERE student_id = ANY(%s)",
        (students,)).fetchall()
    exam_rows = db.execute(
        "SELECT id::text, hubspot_id, mock_exam_name, mock_type, exam_date::text, start_time,"
        " end_time, location, capacity, is_active, mock_set::text"
        " FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = ANY(%s)", (exams,)).fetchall()
    imported = iter(range(10_000))
    snap = snapshot(db)

    def pull_exams(conn: psycopg.Connection) -> Any:
        records = [{"id": hs, "properties": {
            "mock_exam_name": name, "mock_type": mtype, "exam_date": day, "start_time": start,
            "end_time": end, "location": loc, "capacity": str(cap), "is_active": active,
            "mock_set": mset}} for _, hs, name, mtype, day, start, end, loc, cap, active, mset
            in rng.sample(exam_rows, len(exam_rows))]
        return conn.execute("SELECT mockbook_internal.apply_pulled_exams(%s::jsonb)",
                            (json.dumps(records),)).fetchone()[0]

    def pull_contacts(conn: psycopg.Connection) -> Any:
        records = [{"id": hs, "properties": {
            "student_id": sid, "email": mail, "firstname": first, "lastname": last,
            "sj_credits": "4"}} for hs, _, sid, mail, first, last, _ in rng.sample(contacts, 8)]
        return conn.execute("SELECT mockbook_internal.apply_pulled_contacts(%s::jsonb)",
                            (json.dumps(as_the_glue_sends("contacts", records)),)).fetchone()[0]

    def pull_bookings(conn: psycopg.Connection) -> Any:
        records = [{"id": f"HSB{code}", "properties": {"booking_id": code}}
                   for code in rng.sample(sorted(booked.values()), 6)]
        for _ in range(2):  # Admin Override: imported bookings carry no local ledger row
            n = next(imported)
            records.append({"id": f"HSI{n}", "properties": {
                "booking_id": f"IMP-{uuid.uuid4().hex[:10]}", "associated_mock_exam":
                rng.choice(exams), "is_active": "Active", "student_id": f"IMPORTED{n}",
                "email": f"imported{n}@example.com", "token_used": "Admin Override"}})
        return conn.execute("SELECT mockbook_internal.apply_pulled_bookings(%s::jsonb)",
                            (json.dumps(as_the_glue_sends("bookings", records)),)).fetchone()[0]

    def write_back(conn: psycopg.Connection) -> Any:
        ids = {"hubspot_bookings": {}, "hubspot_contact_credits": {
                   cid: hs for hs, cid, *_ in rng.sample(contacts, 6)},
               "hubspot_mock_exams": {eid: hs for eid, hs, *_ in exam_rows}}
        for (bid, code) in conn.execute(
                "SELECT id::text, booking_id FROM hubspot_sync.hubspot_bookings"
                " WHERE booking_id = ANY(%s)",
                (rng.sample(sorted(booked.values()), 6),)).fetchall():
            ids["hubspot_bookings"][bid] = f"HSB{code}"
        return conn.execute("SELECT mockbook_internal.complete_sync_batch('test-worker', '{}', %s)",
                            (json.dumps(ids),)).fetchone()[0]

    def cancel(student: str) -> Callable[[psycopg.Connection], Any]:
        return lambda conn: rpc(conn, "cancel_booking", p_booking_id=booked[student])

    def move(student: str) -> Callable[[psycopg.Connection], Any]:
        return lambda conn: rpc(conn, "rebook", p_booking_id=booked[student],
                                p_new_mock_exam_id=rng.choice(exams),
                                p_idempotency_key=str(uuid.uuid4()))

    def attend(student: str) -> Callable[[psycopg.Connection], Any]:
        return lambda conn: rpc(conn, "mark_attendance", p_updates=[
            {"booking_id": booked[student], "attendance": rng.choice(["Yes", ""])}])

    tasks: list[Callable[[psycopg.Connection], Any]] = []
    kinds: list[str] = []
    for _ in range(12):
        for kind, task in (("pull_exams", pull_exams), ("pull_contacts", pull_contacts),
                           ("pull_bookings", pull_bookings), ("write_back", write_back),
                           ("book", book(rng.choice(students[16:]), rng.choice(exams))),
                           ("cancel", cancel(rng.choice(students[:16]))),
                           ("rebook", move(rng.choice(students[:16]))),
                           ("mark_attendance", attend(rng.choice(students[:16])))):
            tasks.append(task)
            kinds.append(kind)
    order = list(range(len(tasks)))
    rng.shuffle(order)
    tasks = [tasks[i] for i in order]
    kinds = [kinds[i] for i in order]

    outcomes = run_concurrently(database_url, tasks, connection_budget(db, 16))

    states = [getattr(o.error, "sqlstate", None) for o in outcomes if o.error is not None]
    assert [s for s in states if s in ("40P01", "40001", "55P03")] == []
    assert undocumented(outcomes) == []
    succeeded = Counter(k for k, o in zip(kinds, outcomes, strict=True) if o.error is None)
    assert {"pull_exams", "pull_contacts", "pull_bookings", "write_back", "book",
            "cancel"} <= set(succeeded), succeeded
    for kind, o in zip(kinds, outcomes, strict=True):
        if kind.startswith("pull_") and o.error is None:
            assert o.value["errors"] == [] or all(
                "SQLSTATE 40P01" not in e["error"] for e in o.value["errors"]), o.value
    check_invariants(db, snap)
