"""Live pages: what each change sends through Supabase Realtime (db/triggers/broadcast.sql).

The module's database has Supabase Realtime's schema (tests/py/realtime.py) and broadcasts turned
on with hubspot_sync.set_realtime_broadcasts, as a database that got Realtime after its
migration does. Every call is made as PostgREST makes it; the messages are read back from
realtime.messages, which is what Realtime delivers (it reads them from the WAL, in commit order).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import realtime
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc, rpc_rows
from test_concurrency import (
    BusyRetries,
    book,
    connection_budget,
    email,
    make_exams,
    make_students,
    retrying_busy,
    run_concurrently,
    undocumented,
)

from glue.run.status import read_status

RUSH_STUDENTS = 120
RUSH_SEATS = 12


@pytest.fixture(scope="module", autouse=True)
def with_realtime(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        realtime.install(conn)
        answer = rpc(conn, "set_realtime_broadcasts", p_enabled=True, p_actor="tests")
    assert answer["broadcasts"] == "on" and answer["previous_broadcasts"] == "off"
    assert sorted(answer["policies"]) == ["mockbook_listen", "mockbook_send"]


@pytest.fixture
def sent(db: psycopg.Connection) -> Iterator[None]:
    realtime.clear(db)
    yield


def by_topic(db: psycopg.Connection) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for m in realtime.messages(db):
        assert m["private"] is True
        found.setdefault(m["topic"], []).append((m["event"], m["payload"]))
    return found


def exam_topic(exam: str) -> str:
    return f"mockbook:exam:{exam}"


def student_topic(student: str) -> str:
    return f"mockbook:student:{email(student)}"


def test_a_booking_sends_its_seats_and_the_students_booking_once(
        db: psycopg.Connection, sent: None) -> None:
    (exam,) = make_exams(db, 1, capacity=3)
    (student,) = make_students(db, 1, p_sj=2)
    made = book(student, exam)(db)
    found = by_topic(db)
    assert sorted(found) == [exam_topic(exam), student_topic(student)]
    [(event, seats)] = found[exam_topic(exam)]
    assert event == "seats"
    assert {k: seats[k] for k in ("mock_exam_id", "capacity", "total_bookings", "held_seats",
                                  "remaining_seats", "is_full", "waiting", "reason")} == {
        "mock_exam_id": exam, "capacity": 3, "total_bookings": 1, "held_seats": 0,
        "remaining_seats": 2, "is_full": False, "waiting": 0, "reason": None}
    [(event, mine)] = found[student_topic(student)]
    assert event == "booking"
    assert mine["student_id"] == student
    assert mine["booking"]["booking_id"] == made["booking_id"]
    assert mine["booking"]["status"] == "Active" and mine["booking"]["mock_exam_id"] == exam
    assert mine["credits"]["sj_credits"] == made["credits_remaining"] == 1
    # what list_available_exams answers is what the page was told
    listed = rpc_rows(db, "list_available_exams", p_include_unbookable=True)
    row = next(r for r in listed if r["mock_exam_id"] == exam)
    assert (row["remaining_seats"], row["is_full"]) == (seats["remaining_seats"], seats["is_full"])


# what Realtime's WAL reader takes from each inserted row (supabase/realtime,
# lib/realtime/tenants/replication_connection.ex: a row without one is not delivered)
WAL_READ = ("inserted_at", "event", "id", "topic", "private", "payload")
COLUMNS = ("topic", "extension", "payload", "event", "private", "updated_at", "inserted_at", "id",
           "binary_payload")


def test_each_message_is_the_row_realtime_send_stores(db: psycopg.Connection,
                                                     sent: None) -> None:
    """mockbook stores its messages itself (a booking's two cost less so): each row is the one
    realtime.send(payload, event, topic, true) stores for the same message, its id aside."""
    (exam,) = make_exams(db, 1, capacity=2)
    (student,) = make_students(db, 1, p_sj=2)
    book(student, exam)(db)  # the seats and booking messages: their own statements
    rpc(db, "adjust_credits", p_student_id=student, p_credit_field="sj_credits", p_delta=1,
        p_reason="row", p_actor="tests")  # a credits message: send_message
    cols = ", ".join(COLUMNS)
    rows = [dict(zip(COLUMNS, r, strict=True)) for r in db.execute(
        f"SELECT {cols} FROM realtime.messages WHERE topic LIKE 'mockbook:%%'").fetchall()]
    assert sorted(r["event"] for r in rows) == ["booking", "credits", "seats"]
    for row in rows:
        assert all(row[c] is not None for c in WAL_READ), row
        assert row["payload"]["id"] == str(row["id"])
        with db.transaction(force_rollback=True):
            db.execute("SELECT realtime.send(%s::jsonb - 'id', %s, %s, true)",
                       (json.dumps(row["payload"]), row["event"], row["topic"]))
            [theirs] = [dict(zip(COLUMNS, r, strict=True)) for r in db.execute(
                f"SELECT {cols} FROM realtime.messages WHERE id <> ALL(%s)"
                " AND topic LIKE 'mockbook:%%'", ([r["id"] for r in rows],)).fetchall()]
        assert theirs["payload"]["id"] == str(theirs["id"])
        theirs["payload"]["id"] = str(row["id"])
        same = ("topic", "extension", "payload", "event", "private", "binary_payload")
        assert {c: row[c] for c in same} == {c: theirs[c] for c in same}


def test_a_refused_or_rolled_back_booking_sends_nothing(db: psycopg.Connection,
                                                        sent: None) -> None:
    (exam,) = make_exams(db, 1, capacity=1)
    first, second = make_students(db, 2, p_sj=1)
    book(first, exam)(db)
    realtime.clear(db)
    with pytest.raises(RpcError) as full:
        book(second, exam)(db)
    assert full.value.code == "EXAM_FULL"
    with db.transaction(force_rollback=True):  # a booking whose transaction rolls back
        db.execute("SELECT set_config('role', 'service_role', true)")
        db.execute("SELECT hubspot_sync.cancel_booking(b.id::text)"
                   " FROM hubspot_sync.hubspot_bookings AS b WHERE b.student_id = %s", (first,))
    assert realtime.messages(db) == []


def test_a_cancellation_whose_seat_goes_to_the_waitlist_is_one_seats_message(
        db: psycopg.Connection, sent: None) -> None:
    (exam,) = make_exams(db, 1, capacity=1)
    holder, waiter = make_students(db, 2, p_sj=1)
    made = book(holder, exam)(db)
    rpc(db, "join_waitlist", p_student_id=waiter, p_email=email(waiter), p_mock_exam_id=exam,
        p_attending_location="mississauga")
    realtime.clear(db)
    rpc(db, "cancel_booking", p_booking_id=made["booking_id"], p_student_id=holder)
    found = by_topic(db)
    [(_, seats)] = found[exam_topic(exam)]
    assert (seats["total_bookings"], seats["held_seats"], seats["remaining_seats"],
            seats["is_full"]) == (0, 1, 0, True)
    assert seats["next_offer_expires_at"] is not None
    [(event, cancelled)] = found[student_topic(holder)]
    assert event == "booking" and cancelled["booking"]["status"] == "Cancelled"
    assert cancelled["credits"]["sj_credits"] == 1  # refunded, in the same message
    [(event, offer)] = found[student_topic(waiter)]
    assert event == "waitlist"
    assert (offer["waitlist"]["mock_exam_id"], offer["waitlist"]["status"]) == (exam, "offered")


def test_an_expired_offer_a_capacity_and_a_rebook_each_send_their_exams(
        db: psycopg.Connection, sent: None) -> None:
    full, other = make_exams(db, 2, capacity=1)
    holder, waiter, mover = make_students(db, 3, p_sj=2)
    made = book(holder, full)(db)
    rpc(db, "join_waitlist", p_student_id=waiter, p_email=email(waiter), p_mock_exam_id=full,
        p_attending_location="mississauga")
    rpc(db, "cancel_booking", p_booking_id=made["booking_id"], p_student_id=holder)
    realtime.clear(db)
    # the offer's time passes; the waitlist's job passes the seat on (nobody is waiting)
    db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now() - interval '1s'"
               " WHERE mock_exam_id = %s AND status = 'offered'", (full,))
    realtime.clear(db)
    rpc(db, "process_waitlist")
    [(_, seats)] = by_topic(db)[exam_topic(full)]
    assert (seats["held_seats"], seats["remaining_seats"]) == (0, 1)
    realtime.clear(db)
    rpc(db, "set_exam_capacity", p_mock_exam_id=other, p_capacity=5)
    assert [(e, p["capacity"], p["remaining_seats"]) for e, p in by_topic(db)[exam_topic(other)]
            ] == [("seats", 5, 5)]
    moved = book(mover, full)(db)
    realtime.clear(db)
    rpc(db, "rebook", p_booking_id=moved["booking_id"], p_new_mock_exam_id=other,
        p_idempotency_key=str(uuid.uuid4()))
    found = by_topic(db)
    assert [p["total_bookings"] for _, p in found[exam_topic(full)]] == [0]
    assert [p["total_bookings"] for _, p in found[exam_topic(other)]] == [1]
    assert sorted(p["booking"]["status"] for _, p in found[student_topic(mover)]) == [
        "Active", "Cancelled"]


def test_an_exam_closed_in_hubspot_sends_its_seats_and_each_students_refund(
        db: psycopg.Connection, sent: None) -> None:
    (exam,) = make_exams(db, 1, capacity=4)
    students = make_students(db, 2, p_sj=1)
    for student in students:
        book(student, exam)(db)
    realtime.clear(db)
    row = db.execute(
        "SELECT mock_exam_name, mock_type, exam_date::text, start_time, end_time, location,"
        " mock_set::text FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s",
        (exam,)).fetchone()
    record = {"id": exam, "properties": dict(zip(
        ("mock_exam_name", "mock_type", "exam_date", "start_time", "end_time", "location",
         "mock_set"), row, strict=True)) | {"capacity": "6", "is_active": "false"}}
    db.execute("SELECT mockbook_internal.apply_pulled_exams(%s::jsonb)", (json.dumps([record]),))
    found = by_topic(db)
    [(_, seats)] = found[exam_topic(exam)]
    assert (seats["capacity"], seats["total_bookings"], seats["reason"]) == (
        6, 0, "EXAM_NOT_ACTIVE")
    for student in students:
        [(_, mine)] = found[student_topic(student)]
        assert mine["booking"]["status"] == "Cancelled" and mine["credits"]["sj_credits"] == 1


def test_a_balance_changed_outside_a_booking_sends_the_balances(db: psycopg.Connection,
                                                                sent: None) -> None:
    (student,) = make_students(db, 1, p_cs=1)
    rpc(db, "adjust_credits", p_student_id=student, p_credit_field="cs_credits", p_delta=2,
        p_reason="goodwill", p_actor="tests")
    assert [(e, p["credits"]["cs_credits"]) for e, p in by_topic(db)[student_topic(student)]
            ] == [("credits", 3)]


def test_broadcasts_off_send_nothing_and_on_again_send(db: psycopg.Connection,
                                                        sent: None) -> None:
    (exam,) = make_exams(db, 1, capacity=5)
    first, second = make_students(db, 2, p_sj=1)
    assert read_status(db).broadcasts == "on: Supabase Realtime"
    assert rpc(db, "set_realtime_broadcasts", p_enabled=False)["broadcasts"] == "off"
    try:
        assert read_status(db).broadcasts.startswith("off: turned off")
        book(first, exam)(db)
        assert realtime.messages(db) == []
    finally:
        assert rpc(db, "set_realtime_broadcasts", p_enabled=True)["broadcasts"] == "on"
    book(second, exam)(db)
    assert [p["total_bookings"] for _, p in by_topic(db)[exam_topic(exam)]] == [2]
    changes = db.execute(
        "SELECT old_value #>> '{}', new_value #>> '{}' FROM hubspot_sync.booking_rule_changes"
        " WHERE rule = 'realtime_broadcasts' ORDER BY id DESC LIMIT 2").fetchall()
    assert changes == [("off", "on"), ("on", "off")]


def test_the_switch_is_an_admins(db: psycopg.Connection) -> None:
    (student,) = make_students(db, 1)
    with pytest.raises(RpcError) as refused:
        rpc(db, "set_realtime_broadcasts", p_enabled=False,
            claims={"sub": str(uuid.uuid4()), "email": email(student)})
    assert refused.value.code == "FORBIDDEN"
    with pytest.raises(RpcError) as bad:
        rpc(db, "set_realtime_broadcasts", p_enabled=None)
    assert bad.value.code == "INVALID_ARGUMENT"
    assert db.execute("SELECT mockbook_internal.realtime_state() ->> 'broadcasts'"
                      ).fetchone()[0] == "on"


def test_a_rush_sends_each_seat_change_once_in_commit_order(
        db: psycopg.Connection, database_url: str, sent: None) -> None:
    """RUSH_STUDENTS students race for RUSH_SEATS seats (bench B17's rush, smaller). Each
    booking's message is written in its transaction while it holds the exam's row lock, which it
    keeps to its commit: the k-th booking to commit is the k-th to take the lock, and its message
    says total_bookings k. So the seats messages must say 1..RUSH_SEATS, each once (a message of
    a rolled-back booking, or one sent twice, would repeat or skip a number); Realtime delivers
    them in that order (it reads the WAL, where each commit follows the one before it). Every
    winner's student topic gets its booking, no loser's gets anything."""
    (exam,) = make_exams(db, 1, capacity=RUSH_SEATS)
    students = make_students(db, RUSH_STUDENTS, p_sj=1)
    snap = snapshot(db)
    retries = BusyRetries()
    outcomes = run_concurrently(
        database_url, [retrying_busy(book(s, exam), retries) for s in students],
        connection_budget(db, 40))
    assert undocumented(outcomes) == []
    winners = {s for s, o in zip(students, outcomes, strict=True) if o.error is None}
    assert len(winners) == RUSH_SEATS
    assert Counter(o.code for o in outcomes if o.error) == {"EXAM_FULL": RUSH_STUDENTS - RUSH_SEATS}
    found = by_topic(db)
    seats = [p for e, p in found.pop(exam_topic(exam))]
    assert sorted(p["total_bookings"] for p in seats) == list(range(1, RUSH_SEATS + 1))
    assert [p["remaining_seats"] for p in sorted(seats, key=lambda p: p["total_bookings"])] == \
        list(range(RUSH_SEATS - 1, -1, -1))
    assert sorted(found) == sorted(student_topic(s) for s in winners)
    assert all(len(v) == 1 and v[0][1]["credits"]["sj_credits"] == 0 for v in found.values())
    check_invariants(db, snap)


def test_switching_during_bookings_answers_only_documented_errors(
        db: psycopg.Connection, database_url: str, sent: None) -> None:
    """set_realtime_broadcasts takes the four tables' locks (SHARE ROW EXCLUSIVE) while bookings
    and cancellations hold their rows: it tries for 100 ms at a time and gives the tables back
    between tries, so it closes no cycle with a booking that holds a contact and waits for the
    exams' table. Six switches race 60 bookings: every call ends with its result or a documented
    error (BUSY retried as apps do), the invariants hold, and the last switch wins."""
    exams = make_exams(db, 3, capacity=30)
    students = make_students(db, 60, p_sj=1)
    snap = snapshot(db)
    retries = BusyRetries()
    tasks = [retrying_busy(book(s, exams[i % 3]), retries) for i, s in enumerate(students)]
    for n in range(6):
        tasks.insert(n * 10, retrying_busy(
            lambda conn, on=(n % 2 == 1): rpc(conn, "set_realtime_broadcasts", p_enabled=on),
            retries))
    outcomes = run_concurrently(database_url, tasks, connection_budget(db, 20))
    assert undocumented(outcomes) == []
    assert all(o.error is None for o in outcomes), [str(o.error) for o in outcomes if o.error]
    assert rpc(db, "set_realtime_broadcasts", p_enabled=True)["broadcasts"] == "on"
    check_invariants(db, snap)


TYPES = Path(__file__).resolve().parents[3] / "clients" / "typescript" / "realtime.types.ts"


def declared_keys(type_name: str) -> dict[str, set[str]]:
    """The keys clients/typescript/realtime.types.ts gives a message type: {"": its own keys
    (with the message id realtime.send adds), nested object: its keys}."""
    text = TYPES.read_text()
    body = text.split(f"export type {type_name} = Sent & {{", 1)[1].split("\n}\n", 1)[0]
    keys: dict[str, set[str]] = {"": {"id"}}
    nested = ""
    for line in body.splitlines():
        own = re.match(r"^  (\w+): (.*)$", line)
        if own:
            keys[""].add(own[1])
            nested = own[1] if own[2].endswith("{") else ""
            if nested:
                keys[nested] = set()
        elif nested and (inner := re.match(r"^    (\w+)[?]?:", line)):
            keys[nested].add(inner[1])
    return keys


def actual_keys(payload: dict[str, Any]) -> dict[str, set[str]]:
    return {"": set(payload)} | {k: set(v) for k, v in payload.items()
                                 if isinstance(v, dict) and k != "credits"}


def test_the_typescript_types_are_the_messages(db: psycopg.Connection, sent: None) -> None:
    """Each message type of clients/typescript/realtime.types.ts has exactly the keys of a
    real message of its event (the apps compile against them)."""
    (exam,) = make_exams(db, 1, capacity=1)
    holder, waiter = make_students(db, 2, p_sj=2)
    made = book(holder, exam)(db)
    rpc(db, "join_waitlist", p_student_id=waiter, p_email=email(waiter), p_mock_exam_id=exam,
        p_attending_location="mississauga")
    rpc(db, "cancel_booking", p_booking_id=made["booking_id"], p_student_id=holder)
    rpc(db, "adjust_credits", p_student_id=holder, p_credit_field="sj_credits", p_delta=1,
        p_reason="types", p_actor="tests")
    db.execute("UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = NULL"
               " WHERE student_id = %s", (holder,))
    rpc(db, "request_refresh", p_student_id=holder)  # not in HubSpot: its outcome at once
    by_event = {m["event"]: m["payload"] for m in realtime.messages(db)}
    types = {"seats": "SeatsMessage", "booking": "BookingMessage", "credits": "CreditsMessage",
             "waitlist": "WaitlistMessage", "refresh": "RefreshMessage"}
    assert set(by_event) == set(types)
    for event, type_name in types.items():
        assert declared_keys(type_name) == actual_keys(by_event[event]), event
    credits = TYPES.read_text().split("export type CreditBalances = {", 1)[1].split("}", 1)[0]
    assert set(re.findall(r"(\w+): number", credits)) == set(by_event["credits"]["credits"])
    # the booking's message writes the balances out; the one list of credit fields decides
    fields = db.execute("SELECT mockbook_internal.credit_field_names()").fetchone()[0]
    assert set(by_event["booking"]["credits"]) == set(by_event["credits"]["credits"]) == set(fields)
