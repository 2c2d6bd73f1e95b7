"""The concurrency arguments of revisions 0037-0039 (the booking closing the
student's waitlist places of the day and passing their offers on, accept_offer's one pass,
complete_sync_batch's bounded write-back): races staged on real connections, each checked for
a deadlock (a raw 40P01), for the invariants and for the capacity counting held offers.

Staged as tests/py/rpc/test_lock_order.py stages them: a holder keeps an exam locked until every
call under test is queued on a lock (pg_stat_activity), so the interleaving is the same in
every run.
"""

from __future__ import annotations

import uuid

import psycopg
from invariants import check_invariants, snapshot
from postgrest import rpc
from psycopg.types.json import Jsonb
from test_concurrency import book, email, make_students, scalar
from test_lock_order import Call, connect, waiting_on_lock


def exam(db: psycopg.Connection, hubspot_id: str, *, capacity: int, day: int = 30) -> str:
    return scalar(db, "SELECT tests.make_exam(p_hubspot_id := %s, p_capacity := %s,"
                      " p_exam_date := hubspot_sync.business_today() + %s)",
                  (hubspot_id, capacity, day))


def join(db: psycopg.Connection, student: str, hs: str) -> None:
    rpc(db, "join_waitlist", p_student_id=student, p_email=email(student), p_mock_exam_id=hs,
        p_attending_location="mississauga")


def status(db: psycopg.Connection, student: str, hs: str) -> str:
    return scalar(db, "SELECT status FROM hubspot_sync.waitlist_entries WHERE student_id = %s"
                      " AND mock_exam_id = %s ORDER BY id DESC LIMIT 1", (student, hs))


def seats(db: psycopg.Connection, hs: str) -> tuple[int, int, int]:
    """(total_bookings, held offers, capacity)."""
    return db.execute(
        "SELECT e.total_bookings, (SELECT count(*)::integer FROM hubspot_sync.waitlist_entries"
        " AS w WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'offered'), e.capacity"
        " FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = %s", (hs,)).fetchone()


def offered_on(db: psycopg.Connection, hs: str, holder: str, waiter: str) -> None:
    """`holder` holds an offer on the one-seat exam `hs`, `waiter` waits behind them; then the
    capacity is raised to 2 without an offer (a free seat: a direct booking can take it)."""
    (filler,) = make_students(db, 1, p_sj=1)
    code = book(filler, hs)(db)["booking_id"]
    join(db, holder, hs)
    join(db, waiter, hs)
    rpc(db, "cancel_booking", p_booking_id=code, p_actor="test")
    assert status(db, holder, hs) == "offered" and status(db, waiter, hs) == "waiting"
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 2 WHERE hubspot_id = %s",
               (hs,))


def test_two_bookings_passing_offers_on_each_others_exam_never_deadlock(
        db: psycopg.Connection, database_url: str) -> None:
    """A holds an offer on Y and books X; B holds an offer on X and books Y (X, Y: one mock
    type and day). Each booking closes its student's offer on the other's exam and passes it
    on, so both take both exams: A takes X's seat and locks Y, B locks X and takes Y's seat.
    The argument: both lock them in ascending HubSpot id (X, then Y), the seat included.
    Staged: a holder keeps X locked until both are queued on it."""
    tag = uuid.uuid4().hex[:8].upper()
    x = exam(db, f"CRA{tag}", capacity=1)
    y = exam(db, f"CRB{tag}", capacity=1)
    a, b, wx, wy = make_students(db, 4, p_sj=1)
    offered_on(db, x, b, wx)
    offered_on(db, y, a, wy)
    snap = snapshot(db)

    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                       " FOR NO KEY UPDATE", (x,))
        setup = "SET mockbook.lock_timeout = '20s'"
        first = Call(database_url, book(a, x), guard="30s", setup=setup).start()
        waiting_on_lock(db, first.pid)
        second = Call(database_url, book(b, y), guard="30s", setup=setup).start()
        waiting_on_lock(db, second.pid)
        holder.rollback()
    first.join()
    second.join()

    assert (first.sqlstate, second.sqlstate) == (None, None), (first.error, second.error)
    assert first.value["success"] and second.value["success"]
    # the closed offers passed on: each waiting student now holds the seat
    assert (status(db, a, y), status(db, b, x)) == ("left", "left")
    assert (status(db, wx, x), status(db, wy, y)) == ("offered", "offered")
    for hs in (x, y):
        total, held, capacity = seats(db, hs)
        assert total + held <= capacity, (hs, total, held, capacity)
    check_invariants(db, snap)


def test_a_write_back_of_the_places_a_booking_closes_never_deadlocks(
        db: psycopg.Connection, database_url: str, glue_database_url: str) -> None:
    """complete_sync_batch writes back A's place on Y and the exam X (its batch); A books X,
    closing that place. The write-back locks the place, then waits for X (a holder has it);
    A's booking waits for the place. Once the holder lets go the write-back finishes and A's
    booking goes on: no cycle (the booking holds no exam while it waits for a place, the
    write-back waits only for exams after its places)."""
    tag = uuid.uuid4().hex[:8].upper()
    x = exam(db, f"CRC{tag}", capacity=2)
    y = exam(db, f"CRD{tag}", capacity=1)
    a, wy = make_students(db, 2, p_sj=1)
    offered_on(db, y, a, wy)
    place = db.execute("SELECT id, sync_id::text FROM hubspot_sync.waitlist_entries"
                       " WHERE student_id = %s AND mock_exam_id = %s", (a, y)).fetchone()
    x_id = scalar(db, "SELECT id::text FROM hubspot_sync.hubspot_mock_exams"
                      " WHERE hubspot_id = %s", (x,))
    snap = snapshot(db)

    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                       " FOR NO KEY UPDATE", (x,))
        write_back = Call(glue_database_url, lambda c: c.execute(
            "SELECT mockbook_internal.complete_sync_batch('review', '{}'::bigint[], %s)",
            (Jsonb({"waitlist_entries": {place[1]: f"HSWL{place[0]}"},
                    "hubspot_mock_exams": {x_id: x}}),)).fetchone()[0],
            guard="30s", setup="SET mockbook.lock_timeout = '20s'").start()
        waiting_on_lock(db, write_back.pid)
        student = Call(database_url, book(a, x), guard="30s",
                       setup="SET mockbook.lock_timeout = '20s'").start()
        waiting_on_lock(db, student.pid)
        holder.rollback()
    write_back.join()
    student.join()

    assert (write_back.sqlstate, student.sqlstate) == (None, None), \
        (write_back.error, student.error)
    assert student.value["success"]
    assert scalar(db, "SELECT hubspot_id FROM hubspot_sync.waitlist_entries WHERE id = %s",
                  (place[0],)) == f"HSWL{place[0]}"
    assert (status(db, a, y), status(db, wy, y)) == ("left", "offered")
    for hs in (x, y):
        total, held, capacity = seats(db, hs)
        assert total + held <= capacity, (hs, total, held, capacity)
    check_invariants(db, snap)


def test_a_rebook_and_a_booking_passing_an_offer_on_the_old_exam(
        db: psycopg.Connection, database_url: str) -> None:
    """S rebooks from X to Z; U books Z2 (Z2: X's type and day), closing U's offer on X and
    passing it on. Both give a seat of X to its waitlist (S's release_seat, U's closed offer)
    under X's lock, one after the other: X ends with every seat booked or offered once, no
    seat offered twice. Staged: a holder keeps X locked until both are queued on it."""
    tag = uuid.uuid4().hex[:8].upper()
    x = exam(db, f"CRE{tag}", capacity=1)
    z2 = exam(db, f"CRF{tag}", capacity=1)
    z = exam(db, f"CRG{tag}", capacity=5, day=40)
    s, u, w1, w2 = make_students(db, 4, p_sj=2)
    offered_on(db, x, u, w1)                   # X: cap 2, U offered, W1 waiting
    code = book(s, x)(db)["booking_id"]        # X: S booked (1) + U's offer = full
    join(db, w2, x)                            # W2 waits behind W1
    snap = snapshot(db)

    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                       " FOR NO KEY UPDATE", (x,))
        setup = "SET mockbook.lock_timeout = '20s'"
        move = Call(database_url, lambda c: rpc(
            c, "rebook", p_booking_id=code, p_new_mock_exam_id=z,
            p_idempotency_key=f"cr-{uuid.uuid4()}", p_actor="test"),
            guard="30s", setup=setup).start()
        waiting_on_lock(db, move.pid)
        other = Call(database_url, book(u, z2), guard="30s", setup=setup).start()
        waiting_on_lock(db, other.pid)
        holder.rollback()
    move.join()
    other.join()

    assert (move.sqlstate, other.sqlstate) == (None, None), (move.error, other.error)
    assert (status(db, u, x), status(db, w1, x), status(db, w2, x)) == \
        ("left", "offered", "offered")
    for hs in (x, z, z2):
        total, held, capacity = seats(db, hs)
        assert total + held <= capacity, (hs, total, held, capacity)
    check_invariants(db, snap)


def test_accept_offer_and_a_booking_of_the_same_day_by_one_student(
        db: psycopg.Connection, database_url: str) -> None:
    """S holds an offer on X and books Y (X's type and day) while accepting X's offer: both
    lock S's contact first, so one decides after the other: one booking of the type and day,
    one credit, and the offer ends once (accepted, or left and passed on)."""
    tag = uuid.uuid4().hex[:8].upper()
    x = exam(db, f"CRH{tag}", capacity=1)
    y = exam(db, f"CRI{tag}", capacity=3)
    s, w = make_students(db, 2, p_sj=2)
    offered_on(db, x, s, w)
    snap = snapshot(db)

    with connect(database_url, autocommit=False) as holder:
        # the student's contact: both calls queue on it
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s"
                       " FOR NO KEY UPDATE", (s,))
        setup = "SET mockbook.lock_timeout = '20s'"
        acc = Call(database_url, lambda c: rpc(c, "accept_offer", p_student_id=s,
                                               p_email=email(s), p_mock_exam_id=x),
                   guard="30s", setup=setup).start()
        waiting_on_lock(db, acc.pid)
        other = Call(database_url, book(s, y), guard="30s", setup=setup).start()
        waiting_on_lock(db, other.pid)
        holder.rollback()
    acc.join()
    other.join()

    # the acceptance queued first on the contact: it books X, the booking of Y is refused
    assert (acc.sqlstate, other.sqlstate) == (None, "PT409"), (acc.error, other.error)
    assert status(db, s, x) == "accepted"
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s"
                      " AND is_active = 'Active'", (s,)) == 1
    for hs in (x, y):
        total, held, capacity = seats(db, hs)
        assert total + held <= capacity, (hs, total, held, capacity)
    check_invariants(db, snap)


def test_a_deadlock_with_an_outside_transaction_is_busy_not_a_raw_40p01(
        db: psycopg.Connection, database_url: str) -> None:
    """mockbook's functions all lock in one order, but a transaction outside them need not (an
    admin's SQL in the Supabase dashboard, another service): here one holds exam X, then
    updates the student's contact, while create_booking holds that contact and waits for X.
    PostgreSQL breaks the cycle by failing one side with 40P01. When that side is the booking,
    apps must get what the error contract promises for a lock wait, BUSY (retry with the same
    key), not
    an undocumented raw error; and nothing of the booking is left behind."""
    tag = uuid.uuid4().hex[:8].upper()
    x = exam(db, f"CRX{tag}", capacity=5)
    (a,) = make_students(db, 1, p_sj=1)
    snap = snapshot(db)

    with connect(database_url, autocommit=False) as outside:
        outside.execute("SET deadlock_timeout = '30s'")  # the booking is the one to notice
        outside.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                        " FOR NO KEY UPDATE", (x,))
        setup = "SET mockbook.lock_timeout = '20s'; SET deadlock_timeout = '100ms'"
        booking = Call(database_url, book(a, x), guard="30s", setup=setup).start()
        waiting_on_lock(db, booking.pid)  # holds a's contact, waits for X
        outside.execute("UPDATE hubspot_sync.hubspot_contact_credits SET updated_at = now()"
                        " WHERE student_id = %s", (a,))  # waits for the contact: a cycle
        outside.rollback()
    booking.join()

    assert booking.sqlstate == "PT503", (booking.sqlstate, booking.error)
    assert booking.error.code == "BUSY"
    assert scalar(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s",
                  (a,)) == 0
    check_invariants(db, snap)
