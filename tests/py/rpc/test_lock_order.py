"""The lock order (docs/rpc.md, "Lock order"): races that break the one lock order or the
promise that a wait for a row lock ends in BUSY within mockbook.lock_timeout.

Each test stages its interleaving with a lock holder on a connection of its own and waits
(pg_stat_activity) until the calls under test are queued where the scenario needs them, so the
interleaving is the same in every run. Calls go through tests/py/postgrest.py (as PostgREST makes
them); the glue's functions are called as the glue's login role calls them.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc
from psycopg.types.json import Jsonb
from test_concurrency import book, email, make_students, scalar
from waiting import wait_until

from glue.hubspot.catalogue import SYNCED

# a guard against a hang: a call that waits past it fails with 57014 (QueryCanceled); far
# above what any statement takes on a loaded machine
GUARD = "60s"


def connect(url: str, *, autocommit: bool = True, guard: str = GUARD) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=autocommit,
                           options=f"-c statement_timeout={guard}")


def waiting_on_lock(db: psycopg.Connection, pid: int, timeout: float = 10.0) -> None:
    """Wait until backend `pid` is blocked on a lock (heavyweight: row, tuple, transaction)."""
    wait_until(f"backend {pid} to wait on a lock",
               lambda: scalar(db, "SELECT count(*) FROM pg_stat_activity"
                                  " WHERE pid = %s AND wait_event_type = 'Lock'", (pid,)),
               timeout=timeout)


class Call:
    """A call on its own connection and thread; its outcome (value or error) when joined."""

    def __init__(self, url: str, fn: Callable[[psycopg.Connection], Any], *,
                 guard: str = GUARD, setup: str | None = None) -> None:
        self.conn = connect(url, guard=guard)
        if setup:
            self.conn.execute(setup)
        self.pid = self.conn.info.backend_pid
        self.value: Any = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        self.thread = threading.Thread(target=self._run, args=(fn,))

    def _run(self, fn: Callable[[psycopg.Connection], Any]) -> None:
        start = time.monotonic()
        try:
            self.value = fn(self.conn)
        except Exception as exc:
            self.error = exc
        self.seconds = time.monotonic() - start

    def start(self) -> Call:
        self.thread.start()
        return self

    def join(self) -> Call:
        self.thread.join(timeout=180)
        self.conn.close()
        return self

    @property
    def sqlstate(self) -> str | None:
        return getattr(self.error, "sqlstate", None)


def exam(db: psycopg.Connection, hubspot_id: str, *, capacity: int = 10,
         day: int = 30) -> str:
    return scalar(db, "SELECT tests.make_exam(p_hubspot_id := %s, p_capacity := %s,"
                      " p_exam_date := hubspot_sync.business_today() + %s)",
                  (hubspot_id, capacity, day))


# --- 1. activate_due_exams takes exams in the table's order, not ascending HubSpot id -------


def test_activate_due_exams_and_rebook_never_deadlock(db: psycopg.Connection,
                                                      database_url: str) -> None:
    """activate_due_exams (the pull's step, mockbook_internal) sets is_active 'true' on every
    due scheduled exam by one UPDATE, which locks the exams in the order the scan finds them
    (physical order), not in ascending hubspot_id as docs/rpc.md requires of every function
    that locks several exams. rebook takes its two exams in ascending hubspot_id: with the
    higher exam earlier in the table, the two lock them in opposite orders.

    Staged: a holder keeps exam HI locked; activate_due_exams queues on HI (first in its scan);
    a rebook LO -> HI gives LO's seat back (LO locked) and queues on HI. The holder lets go:
    activate locks HI and waits for LO, the rebook waits for HI -> a deadlock, one of them ends
    with a raw 40P01 (a rebook caller is told 'deadlock detected', or the pull step fails)."""
    tag = uuid.uuid4().hex[:8].upper()
    lo = exam(db, f"LRDLA{tag}")
    hi = exam(db, f"LRDLB{tag}")
    (student,) = make_students(db, 1, p_sj=1)
    code = book(student, lo)(db)["booking_id"]
    # both scheduled with their activation passed (bookable, and due for activate_due_exams);
    # HI updated first, so LO's live row version lies after HI's in the table
    for hubspot_id in (hi, lo):
        db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET is_active = 'scheduled',"
                   " scheduled_activation_datetime = now() - interval '1 minute'"
                   " WHERE hubspot_id = %s", (hubspot_id,))
    order = [r[0] for r in db.execute(
        "SELECT hubspot_id FROM hubspot_sync.hubspot_mock_exams"
        " WHERE lower(is_active) = 'scheduled' AND scheduled_activation_datetime <= now()"
        " ORDER BY ctid")]
    assert order == [hi, lo], f"staging: the scan must meet HI first, table order {order}"
    snap = snapshot(db)

    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                       " FOR NO KEY UPDATE", (hi,))
        activate = Call(database_url, lambda c: c.execute(
            "SELECT mockbook_internal.activate_due_exams('test:lock-review')").fetchone()[0],
            guard="20s").start()
        waiting_on_lock(db, activate.pid)
        move = Call(database_url, lambda c: rpc(
            c, "rebook", p_booking_id=code, p_new_mock_exam_id=hi,
            p_idempotency_key=f"lr-{uuid.uuid4()}", p_actor="test"), guard="20s").start()
        waiting_on_lock(db, move.pid)
        holder.rollback()
    activate.join()
    move.join()

    deadlocks = {name: f"{type(c.error).__name__} [{c.sqlstate}] {c.error}"
                 for name, c in (("activate_due_exams", activate), ("rebook", move))
                 if c.sqlstate == "40P01"}
    assert deadlocks == {}, f"deadlock between activate_due_exams and rebook: {deadlocks}"
    assert activate.error is None, activate.error
    assert move.error is None or (isinstance(move.error, RpcError)
                                  and move.error.code == "BUSY"), move.error
    check_invariants(db, snap)


# --- 2. a waitlist place is waited for without a bound --------------------------------------


def _full_exam_with_waiting_place(db: psycopg.Connection, *, offered: bool,
                                  ) -> tuple[str, str, str, dict[str, Any]]:
    """An exam of one seat, booked by one student, another on its waitlist (offered: the
    booking cancelled, the seat offered to the waiting student). Returns (exam, booker,
    waiting student, the place)."""
    tag = uuid.uuid4().hex[:8].upper()
    hs = exam(db, f"LRWL{tag}", capacity=1)
    booker, waiter = make_students(db, 2, p_sj=1)
    code = book(booker, hs)(db)["booking_id"]
    rpc(db, "join_waitlist", p_student_id=waiter, p_email=email(waiter), p_mock_exam_id=hs,
        p_attending_location="mississauga")
    if offered:
        rpc(db, "cancel_booking", p_booking_id=code, p_actor="test")
    place = db.execute("SELECT id, sync_id::text AS sync_id, status FROM"
                       " hubspot_sync.waitlist_entries WHERE mock_exam_id = %s"
                       " AND student_id = %s", (hs, waiter)).fetchone()
    assert place[2] == ("offered" if offered else "waiting")
    return hs, booker, waiter, {"id": place[0], "sync_id": place[1]}


@pytest.mark.parametrize("function", ["leave_waitlist", "accept_offer"])
def test_a_held_waitlist_place_is_busy_within_the_lock_timeout(
        db: psycopg.Connection, database_url: str, glue_database_url: str,
        function: str) -> None:
    """leave_waitlist and accept_offer lock the student's place with a plain SELECT ... FOR
    UPDATE: no mockbook.lock_timeout, so while another transaction holds the place they wait
    for as long as it does, never BUSY (docs/rpc.md: a row held by another transaction is
    waited for at most mockbook.lock_timeout, then BUSY).

    The holder here is the push's own write-back: complete_sync_batch locks the place
    (ranked with the bookings) and then waits for the exam, which a long transaction holds
    (its own wait bounded by its session's mockbook.lock_timeout, 30 s here, so that it holds
    the place for the whole scenario). The student's call, with mockbook.lock_timeout 200 ms,
    should answer BUSY at once; it waits until the statement guard cancels it."""
    hs, _, waiter, place = _full_exam_with_waiting_place(db, offered=function == "accept_offer")
    exam_id = scalar(db, "SELECT id::text FROM hubspot_sync.hubspot_mock_exams"
                         " WHERE hubspot_id = %s", (hs,))
    snap = snapshot(db)

    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                       " FOR UPDATE", (hs,))
        write_back = Call(glue_database_url, lambda c: c.execute(
            "SELECT mockbook_internal.complete_sync_batch('lock-review', '{}'::bigint[], %s)",
            (Jsonb({"waitlist_entries": {place["sync_id"]: f"HSWL{place['id']}"},
                    "hubspot_mock_exams": {exam_id: hs}}),)).fetchone()[0],
            guard="40s", setup="SET mockbook.lock_timeout = '30s'").start()
        waiting_on_lock(db, write_back.pid)

        args: dict[str, Any] = {"p_student_id": waiter, "p_mock_exam_id": hs}
        if function == "accept_offer":
            args["p_email"] = email(waiter)
        student = Call(database_url, lambda c: rpc(c, function, **args),
                       setup="SET mockbook.lock_timeout = '200ms'").start()
        student.thread.join(timeout=120)
        holder.rollback()
    student.join()
    write_back.join()

    assert write_back.error is None, write_back.error
    assert isinstance(student.error, RpcError) and student.error.code == "BUSY", (
        f"{function} on a place held by another transaction: after {student.seconds:.1f} s"
        f" got {type(student.error).__name__} [{student.sqlstate}] {student.error}"
        f" (value {student.value}), expected BUSY within mockbook.lock_timeout (200 ms)")
    check_invariants(db, snap)


# --- 3. release_seat's lock_timeout outlives its own wait -----------------------------------


def test_a_cancellation_waits_out_the_waitlist_offer_it_makes(db: psycopg.Connection,
                                                              database_url: str) -> None:
    """Revision 0032's promise (docs/rpc.md, Lock order): mockbook.lock_timeout bounds only the
    waits of the lock helpers; a later wait of the same call is waited out, never a raw 55P03.
    release_seat sets lock_timeout for its exam UPDATE, but the offer of the freed seat
    (offer_free_seats: the waitlist places updated, their outbox rows) still runs inside
    release_seat, under that timeout and outside its BUSY handler: a cancellation whose offer
    waits for a lock on the waitlist longer than the timeout fails with a raw 55P03.

    Staged as tests/py/rpc/test_concurrency.py's test_lock_timeout_bounds_only_the_lock_waits stages
    the ledger: another transaction holds waitlist_entries in SHARE mode (what a plain CREATE
    INDEX takes) for 1.5 s; the cancellation with mockbook.lock_timeout 200 ms should wait it
    out, cancel, and offer the seat to the waiting student."""
    hs, booker, waiter, _ = _full_exam_with_waiting_place(db, offered=False)
    code = scalar(db, "SELECT booking_id FROM hubspot_sync.hubspot_bookings"
                      " WHERE student_id = %s", (booker,))
    snap = snapshot(db)

    with connect(database_url, autocommit=False) as holder, \
            connect(database_url, guard="30s") as caller:
        holder.execute("LOCK TABLE hubspot_sync.waitlist_entries IN SHARE MODE")
        caller.execute("SET mockbook.lock_timeout = '200ms'")
        release = threading.Timer(1.5, holder.commit)
        release.start()
        try:
            result = rpc(caller, "cancel_booking", p_booking_id=code, p_actor="test")
        finally:
            release.join()

    assert result["status"] == "Cancelled"
    assert scalar(db, "SELECT status FROM hubspot_sync.waitlist_entries WHERE mock_exam_id = %s"
                      " AND student_id = %s", (hs, waiter)) == "offered"
    check_invariants(db, snap)


# --- 4. the pull's archived exam is waited for without a bound ------------------------------


def test_the_pull_never_waits_for_an_archived_exam(db: psycopg.Connection,
                                                   glue_database_url: str) -> None:
    """docs/rpc.md: the pull waits for a row held by another transaction at most
    mockbook.lock_timeout, then lists it in retry. apply_pulled_exams takes a known exam's row
    with lock_exam, but an archived record deactivates its exam by a plain UPDATE: no timeout,
    so a pull meeting an exam in use waits as long as its holder (the glue sets no
    lock_timeout), holding the exams of the records before it meanwhile."""
    tag = uuid.uuid4().hex[:8].upper()
    hs = exam(db, f"LRAR{tag}")
    snap = snapshot(db)

    with connect(db.info.dsn, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                       " FOR NO KEY UPDATE", (hs,))
        pull = Call(glue_database_url, lambda c: c.execute(
            "SELECT mockbook_internal.apply_pulled_exams(%s, 'test:lock-review')",
            (Jsonb([{"id": hs, "archived": True}]),)).fetchone()[0],
            setup="SET mockbook.lock_timeout = '200ms'").start()
        pull.thread.join(timeout=120)
        holder.rollback()
    pull.join()

    assert pull.error is None, (
        f"apply_pulled_exams on an archived exam in use: after {pull.seconds:.1f} s"
        f" {type(pull.error).__name__} [{pull.sqlstate}] {pull.error}; expected it in retry"
        " within mockbook.lock_timeout (200 ms)")
    assert pull.value["retry"] == [hs]
    check_invariants(db, snap)


# --- 5. contact_credit_sync rows are locked outside the lock order --------------------------


def test_a_push_claim_and_a_credit_pull_never_deadlock(db: psycopg.Connection,
                                                       database_url: str,
                                                       glue_database_url: str) -> None:
    """The credit merge's bookkeeping rows (contact_credit_sync) are locked in three orders:
    apply_pulled_contacts locks each record's row (SELECT ... FOR UPDATE, no timeout) after its
    contact, in HubSpot's record order, and keeps it to the end of the pull; claim_sync_batch's
    trigger credit_push_claimed upserts the row of every contact it claims, in the claim's row
    order, without the contacts; record_credit_push in uuid order. None of this is in
    docs/rpc.md's lock order, and two of them deadlock.

    Staged: contacts A and B, each with a pending outbox row (A's queued first) and a merge
    base. A pull of [B, A] merges B (B's sync row locked) and is held at B's ledger row by a
    lock on the ledger; a push claims both outbox rows: its trigger upserts A's sync row, then
    waits for B's (the pull's). The ledger is let go: the pull goes on to A (A's lease is not
    committed, so not seen), locks contact A (the claim locks no contact) and waits for A's
    sync row (the claim's): a deadlock. Either the claim fails with a raw 40P01 (the push's
    batch is lost for this run) or the pull's record A does (caught: A lands in retry)."""
    db.execute("UPDATE hubspot_sync.sync_queue SET done_at = now()"
               " WHERE done_at IS NULL AND dead_at IS NULL")  # this test's rows only
    a, b = make_students(db, 2, p_sj=5)
    contacts = {sid: row for sid, *row in db.execute(
        "SELECT student_id, id::text, hubspot_id, email, firstname, lastname"
        " FROM hubspot_sync.hubspot_contact_credits WHERE student_id = ANY(%s)", ([a, b],))}
    base = {"sj_credits": 5, "cs_credits": 0, "sjmini_credits": 0, "mock_discussion_token": 0,
            "shared_mock_credits": 0}
    for sid in (a, b):
        db.execute("INSERT INTO hubspot_sync.contact_credit_sync (contact_id, credits, source)"
                   " VALUES (%s, %s, 'pull')", (contacts[sid][0], Jsonb(base)))
    for sid in (a, b):  # A's outbox row first
        rpc(db, "adjust_credits", p_student_id=sid, p_credit_field="cs_credits", p_delta=1,
            p_reason="lock review", p_actor="test")
    snap = snapshot(db)

    def record(sid: str, sj: int) -> dict[str, Any]:
        _, hubspot_id, mail, first, last = contacts[sid]
        props = {"student_id": sid, "email": mail, "firstname": first, "lastname": last,
                 "sj_credits": str(sj), "cs_credits": "0"}
        # as the glue sends it: the credits it does not read are unknown, left out of the merge
        return {"id": hubspot_id, "properties": props,
                "unknown": SYNCED["contacts"].unknown(props)}

    with connect(database_url, autocommit=False) as holder:
        holder.execute("LOCK TABLE hubspot_sync.credit_ledger IN SHARE MODE")
        pull = Call(glue_database_url, lambda c: c.execute(
            "SELECT mockbook_internal.apply_pulled_contacts(%s, 'test:lock-review')",
            (Jsonb([record(b, 6), record(a, 5)]),)).fetchone()[0], guard="30s").start()
        waiting_on_lock(db, pull.pid)  # at B's ledger row, B's sync row locked
        claim = Call(glue_database_url, lambda c: c.execute(
            "SELECT count(*) FROM mockbook_internal.claim_sync_batch('lock-review', 100, 60)"
        ).fetchone()[0], guard="30s").start()
        waiting_on_lock(db, claim.pid)  # A's sync row upserted, waiting for B's
        holder.rollback()
    pull.join()
    claim.join()

    errors = {name: f"{type(c.error).__name__} [{c.sqlstate}] {c.error}"
              for name, c in (("apply_pulled_contacts", pull), ("claim_sync_batch", claim))
              if c.error is not None}
    assert errors == {}, f"a pull and a push claim deadlocked: {errors}"
    assert pull.value["retry"] == [], f"the pull retried {pull.value['retry']}: {pull.value}"
    check_invariants(db, snap)


# --- 6. the push's write-back waits for a contact, booking or exam without a bound ----------


@pytest.mark.parametrize("held", ["contact", "booking", "exam"])
def test_the_push_write_back_is_busy_within_the_lock_timeout(
        db: psycopg.Connection, database_url: str, glue_database_url: str, held: str) -> None:
    """complete_sync_batch (the push's write-back: outbox rows done and HubSpot ids written,
    one transaction) locks the contacts, bookings and exams it writes by a sorted SELECT ...
    FOR NO KEY UPDATE with no lock_timeout: ascending, so no deadlock, but a long transaction
    of a student or an admin holding one of those rows holds the glue for as long as it runs
    (the glue sets no lock_timeout), and with it the push's settle lane and the whole run.
    docs/rpc.md: every function's wait for a row held by another transaction ends in BUSY
    after mockbook.lock_timeout.

    Staged: a booking's outbox rows (booking, contact, exam) claimed by a worker; a holder
    keeps one of the three rows locked; the write-back, with mockbook.lock_timeout 200 ms,
    should answer BUSY (nothing done: the rows stay leased to the worker, no id written) and,
    once the holder has gone, complete every row and write the ids."""
    db.execute("UPDATE hubspot_sync.sync_queue SET done_at = now()"
               " WHERE done_at IS NULL AND dead_at IS NULL")  # this test's rows only
    tag = uuid.uuid4().hex[:8].upper()
    hs = exam(db, f"LRWB{tag}")
    (student,) = make_students(db, 1, p_sj=2)
    booked = book(student, hs)(db)
    ids = {
        "contact": scalar(db, "SELECT id::text FROM hubspot_sync.hubspot_contact_credits"
                              " WHERE student_id = %s", (student,)),
        "booking": booked["id"],
        "exam": scalar(db, "SELECT id::text FROM hubspot_sync.hubspot_mock_exams"
                           " WHERE hubspot_id = %s", (hs,)),
    }
    tables = {"contact": "hubspot_contact_credits", "booking": "hubspot_bookings",
              "exam": "hubspot_mock_exams"}
    written = {"hubspot_contact_credits": {ids["contact"]: f"HSC{tag}"},
               "hubspot_bookings": {ids["booking"]: f"HSB{tag}"},
               "hubspot_mock_exams": {ids["exam"]: hs}}
    worker = f"lock-review-{tag}"
    with connect(glue_database_url) as glue:
        rows = [r[0] for r in glue.execute(
            "SELECT id FROM mockbook_internal.claim_sync_batch(%s, 100, 300)", (worker,))]
    assert rows, "staging: the booking queued outbox rows to claim"
    snap = snapshot(db)

    def complete(c: psycopg.Connection) -> int:
        return c.execute("SELECT mockbook_internal.complete_sync_batch(%s, %s, %s)",
                         (worker, rows, Jsonb(written))).fetchone()[0]

    with connect(database_url, autocommit=False) as holder:
        holder.execute(f"SELECT 1 FROM hubspot_sync.{tables[held]} WHERE id = %s"
                       " FOR NO KEY UPDATE", (ids[held],))
        write_back = Call(glue_database_url, complete, guard="30s",
                          setup="SET mockbook.lock_timeout = '200ms'").start()
        write_back.thread.join(timeout=120)
        holder.rollback()
    write_back.join()

    assert write_back.sqlstate == "PT503", (
        f"the write-back with the {held} row held by another transaction: after"
        f" {write_back.seconds:.1f} s got {type(write_back.error).__name__}"
        f" [{write_back.sqlstate}] {write_back.error} (value {write_back.value}), expected BUSY"
        " within mockbook.lock_timeout (200 ms)")
    assert "BUSY" in str(write_back.error)
    # nothing of it happened: the rows are still the worker's, nothing done, no id written
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.sync_queue WHERE id = ANY(%s)"
                      " AND done_at IS NULL AND lease_owner = %s", (rows, worker)) == len(rows)
    assert scalar(db, "SELECT hubspot_id FROM hubspot_sync.hubspot_bookings WHERE id = %s",
                  (ids["booking"],)) is None

    # the holder gone, the same write-back completes everything
    with connect(glue_database_url) as glue:
        assert complete(glue) == len(rows)
    assert scalar(db, "SELECT hubspot_id FROM hubspot_sync.hubspot_bookings WHERE id = %s",
                  (ids["booking"],)) == f"HSB{tag}"
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.sync_queue WHERE id = ANY(%s)"
                      " AND done_at IS NOT NULL", (rows,)) == len(rows)
    check_invariants(db, snap)


# --- the pull's exam change takes the contacts and bookings before the exam -----------------


@pytest.mark.parametrize("change", ["archived", "moved"])
def test_an_exam_change_from_hubspot_takes_contacts_and_bookings_before_the_exam(
        db: psycopg.Connection, glue_database_url: str, change: str) -> None:
    """A cancellation holds its contact and booking and then takes the exam (the lock order).
    The pull's exam change cancels or moves that exam's bookings, which takes them and their
    contacts: taken after the exam, the two waited for each other until the deadlock detector or
    a timeout ended one (the cancellation failed, or the record waited for the next pull). Taken
    first (prelock_exam_changes), the pull waits for the cancellation, which finishes."""
    tag = uuid.uuid4().hex[:8].upper()
    hs = exam(db, f"LXCH{tag}")
    [student] = make_students(db, 1, p_sj=3, p_cs=3)
    book(student, hs)(db)
    snap = snapshot(db)
    if change == "archived":
        record = {"id": hs, "archived": True}
    else:
        props = dict(db.execute(
            "SELECT 'mock_type', mock_type, 'exam_date', (exam_date + 1)::text, 'capacity',"
            " capacity::text, 'is_active', is_active, 'start_time', '10:00', 'end_time', '12:00'"
            " FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s", (hs,)).fetchone()
            [i:i + 2] for i in range(0, 12, 2))
        record = {"id": hs, "properties": props}

    with connect(db.info.dsn, autocommit=False) as caller:
        # a call for the student's booking, between its contact and booking and the exam
        caller.execute("SELECT 1 FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s"
                       " FOR NO KEY UPDATE", (student,))
        caller.execute("SELECT 1 FROM hubspot_sync.hubspot_bookings WHERE student_id = %s"
                       " FOR NO KEY UPDATE", (student,))
        pull = Call(glue_database_url, lambda c: c.execute(
            "SELECT mockbook_internal.apply_pulled_exams(%s, 'test:lock-order')",
            (Jsonb([record]),)).fetchone()[0],
            setup="SET mockbook.lock_timeout = '3s'").start()
        waiting_on_lock(db, pull.pid)
        caller.execute("SET LOCAL lock_timeout = '2s'")
        caller.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                       " FOR NO KEY UPDATE", (hs,))  # raised 40P01 or 55P03 before
        caller.commit()
    pull.join()

    assert pull.error is None, f"{type(pull.error).__name__} [{pull.sqlstate}] {pull.error}"
    assert pull.value["retry"] == [] and pull.value["errors"] == []
    if change == "archived":
        assert pull.value["bookings_cancelled"] == 1
    else:
        assert pull.value["bookings_moved"] == 1
    check_invariants(db, snap)


def test_an_offer_accepted_across_its_instant_never_takes_a_seat_twice(
        db: psycopg.Connection) -> None:
    """An offer stops holding its seat at offer_expires_at, for every call from that instant.
    An acceptance whose transaction began a moment before the instant (then waited for its
    contact) decided by its start alone: meanwhile a booking begun after the instant took the
    seat as free, and the acceptance took it again, leaving the exam's bookings and the later
    offer's held seat above its capacity (that offer could only be refused EXAM_FULL). Now the
    acceptance checks the instant again once it holds the exam, against the time then."""
    tag = uuid.uuid4().hex[:8].upper()
    hs = exam(db, f"LOFR{tag}", capacity=2)
    a, b, w1, w2, other = make_students(db, 5, p_sj=2, p_cs=2)
    booked = [book(s, hs)(db) for s in (a, b)]
    for s in (w1, w2):
        rpc(db, "join_waitlist", p_student_id=s, p_email=email(s), p_mock_exam_id=hs,
            p_attending_location="mississauga")
    for done in booked:   # both seats offered: w1's offer first, then w2's
        rpc(db, "cancel_booking", p_booking_id=done["booking_id"])
    snap = snapshot(db)
    db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at ="
               " clock_timestamp() + interval '1 second'"
               " WHERE mock_exam_id = %s AND student_id = %s", (hs, w1))

    with connect(db.info.dsn, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s"
                       " FOR NO KEY UPDATE", (w1,))
        accepting = Call(db.info.dsn, lambda c: rpc(
            c, "accept_offer", p_student_id=w1, p_email=email(w1),
            p_mock_exam_id=hs), guard="60s").start()   # its transaction begins now
        waiting_on_lock(db, accepting.pid)
        wait_until("the offer's instant to pass", lambda: scalar(   # the instant passes
            db, "SELECT clock_timestamp() > offer_expires_at FROM hubspot_sync.waitlist_entries"
                " WHERE mock_exam_id = %s AND student_id = %s", (hs, w1)), timeout=120)
        book(other, hs)(db)                             # w1's seat, free since the instant
        holder.rollback()
    accepting.join()

    assert isinstance(accepting.error, RpcError) and accepting.error.code == "OFFER_EXPIRED", (
        accepting.value or accepting.error)
    active, held, capacity = db.execute(
        "SELECT e.total_bookings, (SELECT count(*) FROM hubspot_sync.waitlist_entries AS w"
        "  WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'offered'"
        "    AND w.offer_expires_at > now()), e.capacity"
        " FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = %s", (hs,)).fetchone()
    assert active + held <= capacity, (active, held, capacity)
    check_invariants(db, snap)


def test_a_new_contact_applied_twice_at_once_is_retried_not_an_error(
        db: psycopg.Connection, glue_database_url: str) -> None:
    """The webhook processor and a pull apply the same new HubSpot contact at once (its
    creation webhook arrives while the pull reads it): the second insert waited for the first
    and failed on the unique HubSpot id, which the pull reported as an error (23505, a dead
    letter, `mockbook pull` exit 1). Now that record is listed in retry and applied again."""
    tag = uuid.uuid4().hex[:8].upper()
    record = {"id": f"9{uuid.uuid4().int % 10**9}", "properties": {
        "student_id": f"LNC{tag}", "email": f"lnc{tag.lower()}@example.com",
        "firstname": "New", "lastname": "Contact", "sj_credits": "2", "cs_credits": "0",
        "sjmini_credits": "0", "mock_discussion_token": "0", "shared_mock_credits": "0"}}
    apply = ("SELECT mockbook_internal.apply_pulled_contacts(%s, 'test:lock-order')")
    with connect(glue_database_url, autocommit=False) as first:
        done = first.execute(apply, (Jsonb([record]),)).fetchone()[0]
        assert done["inserted"] == 1
        second = Call(glue_database_url, lambda c: c.execute(
            apply, (Jsonb([record]),)).fetchone()[0]).start()
        waiting_on_lock(db, second.pid)   # on the unique index, for the first's outcome
        first.commit()
    second.join()
    assert second.error is None, second.error
    assert second.value["errors"] == [] and second.value["retry"] == [record["id"]]
    again = scalar(db, apply, (Jsonb([record]),))
    assert again["errors"] == [] and again["retry"] == [] and again["inserted"] == 0
    assert scalar(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                      " WHERE student_id = %s", (f"LNC{tag}",)) == 2


def test_a_new_exam_applied_twice_at_once_is_retried_not_an_error(
        db: psycopg.Connection, glue_database_url: str) -> None:
    """As for a contact: the webhook processor and a pull apply the same new HubSpot exam at
    once; the second insert waits on the unique HubSpot id for the first's outcome, and the
    record is listed in retry (applied again as an update), never an error (23505)."""
    record = {"id": f"8{uuid.uuid4().int % 10**9}", "properties": {
        "mock_exam_name": "Twice at once", "mock_type": "Situational Judgment",
        "exam_date": (date.today() + timedelta(days=40)).isoformat(),
        "start_time": "09:00", "end_time": "11:00", "location": "Mississauga",
        "capacity": "10", "is_active": "true"}}
    apply = "SELECT mockbook_internal.apply_pulled_exams(%s, 'test:lock-order')"
    with connect(glue_database_url, autocommit=False) as first:
        done = first.execute(apply, (Jsonb([record]),)).fetchone()[0]
        assert done["inserted"] == 1, done
        second = Call(glue_database_url, lambda c: c.execute(
            apply, (Jsonb([record]),)).fetchone()[0]).start()
        waiting_on_lock(db, second.pid)   # on the unique index, for the first's outcome
        first.commit()
    second.join()
    assert second.error is None, second.error
    assert second.value["errors"] == [] and second.value["retry"] == [record["id"]], second.value
    again = scalar(db, apply, (Jsonb([record]),))
    assert again["errors"] == [] and again["retry"] == [] and again["inserted"] == 0, again
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_mock_exams"
                      " WHERE hubspot_id = %s", (record["id"],)) == 1


def test_the_bounded_wait_is_written_once() -> None:
    """Setting lock_timeout is mockbook_internal.wait_for_lock's, and take_seat's for the seat's
    UPDATE alone (the UPDATE waits for the exam row itself: a separate tuple lock first made a
    hot exam's booking slower, docs/performance.md); every other function locks through
    wait_for_lock. Both read the bound from mockbook.lock_timeout with the same default. A wait
    that ran out (55P03) or a deadlock (40P01) is answered BUSY by wait_for_lock for its own
    waits and, for every other, by the one arm every API function's handler has, calling
    raise_busy; no other function names those conditions, so neither the bound nor the answer
    can differ between functions."""
    from glue.db.source import DB_DIR, source_files

    def named(pattern: str) -> list[str]:
        return sorted(path.relative_to(DB_DIR).as_posix() for path in source_files()
                      if re.search(pattern, path.read_text(), re.I))

    setters = named(r"set_config\(\s*'lock_timeout'")
    assert setters == ["functions/internal/take_seat.sql", "functions/internal/wait_for_lock.sql"]
    bound = "coalesce(nullif(pg_catalog.current_setting('mockbook.lock_timeout', true), ''), '2s')"
    for path in setters:
        text = " ".join((DB_DIR / path).read_text().split())
        assert bound in text, f"{path} bounds its wait otherwise"
    api = named(r"(?m)^EXCEPTION$")
    api = [path for path in api if path.startswith("functions/api/")]
    assert len(api) >= 20, api
    assert named(r"lock_not_available|deadlock_detected") == sorted(
        [*api, "functions/internal/wait_for_lock.sql"])
    arm = ("EXCEPTION WHEN lock_not_available OR deadlock_detected THEN"
           " PERFORM mockbook_internal.raise_busy(SQLSTATE);")
    for path in api:
        assert arm in " ".join((DB_DIR / path).read_text().split()), f"{path} answers otherwise"
    for path in ("functions/internal/raise_busy.sql", "functions/internal/wait_for_lock.sql"):
        assert "raise_error('BUSY'" in (DB_DIR / path).read_text(), f"{path} answers otherwise"
