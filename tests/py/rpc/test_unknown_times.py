"""An exam whose start or end cannot be read has one answer in every rule and job.

A local time the clocks skip or repeat on the exam's day is flagged and has no instant (never
guessed); the exam's end may still be known. docs/rpc.md (Exam times, "Unknown times") decides
for every rule and job through one helper (mockbook_internal.exam_span): an unknown start counts
from the start of the exam's day in the business time zone, an unknown end is the end of that
day, and the exam is never "not started" after its known end. So before its day a flagged exam
is bookable (minimum notice and the cancellation deadline counted from the day's start), on its
day it has started (booking refused, or allowed by allow_booking_after_start until its end,
the cut-off applying), and after its end it is over: never bookable, never listed, and
complete_past_bookings completes its bookings. Each case runs in Toronto, London and Sydney, on
a day the clocks skip an hour and on one they repeat it. Before these tests the flagged exam
was booked 8.5 hours after its end, listed, and its booking completed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc, rpc_rows
from psycopg.types.json import Jsonb
from zone import reset_business_timezone

# zone -> {kind: (the exam's day, its start in the hour the clocks skip or repeat, an end that
# exists once)}. Toronto: forward 2027-03-14, back 2027-11-07 (02:00); London: forward
# 2027-03-28, back 2027-10-31 (01:00 GMT); Sydney: back 2027-04-04 (03:00), forward 2027-10-03
# (02:00).
DST_DAYS: dict[str, dict[str, tuple[str, str, str]]] = {
    "America/Toronto": {"gap": ("2027-03-14", "02:30", "03:30"),
                        "repeat": ("2027-11-07", "01:30", "03:00")},
    "Europe/London": {"gap": ("2027-03-28", "01:30", "02:30"),
                      "repeat": ("2027-10-31", "01:30", "02:30")},
    "Australia/Sydney": {"gap": ("2027-10-03", "02:30", "03:30"),
                         "repeat": ("2027-04-04", "02:30", "03:30")},
}
PROBLEM = {"gap": "does not exist", "repeat": "happens twice"}
CASES = [(zone, kind) for zone, kinds in DST_DAYS.items() for kind in kinds]


def one(db: psycopg.Connection, query: str, params: Any = ()) -> Any:
    return db.execute(query, params).fetchone()[0]


def email(student: str) -> str:
    return f"{student.lower()}@example.com"


def student(db: psycopg.Connection) -> str:
    return one(db, "SELECT tests.make_student(p_sj := 5)")


def book(db: psycopg.Connection, who: str, exam: str) -> dict:
    return rpc(db, "create_booking", p_student_id=who, p_email=email(who), p_mock_exam_id=exam,
               p_idempotency_key=f"ut-{uuid.uuid4()}", p_attending_location="mississauga")


def refusal(db: psycopg.Connection, who: str, exam: str) -> str | None:
    """create_booking's answer for this student and exam now (nothing kept): None or the code."""
    snap = snapshot(db)
    try:
        made = book(db, who, exam)
    except RpcError as refused:
        check_invariants(db, snap)
        return refused.code
    rpc(db, "cancel_booking", p_booking_id=made["booking_id"])
    return None


def listed(db: psycopg.Connection, exam: str) -> tuple[bool, str | None]:
    """(listed as bookable, the reason list_available_exams gives with the unbookable)."""
    plain = {r["mock_exam_id"] for r in rpc_rows(db, "list_available_exams")}
    reasons = {r["mock_exam_id"]: r["reason"] for r in rpc_rows(
        db, "list_available_exams", p_include_unbookable=True)}
    return exam in plain, reasons[exam]


def status(db: psycopg.Connection, booking: dict) -> str:
    return one(db, "SELECT is_active FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (booking["id"],))


def set_rule(db: psycopg.Connection, rule: str, value: Any) -> None:
    rpc(db, "set_booking_rule", p_rule=rule, p_value=value, p_actor="test")


def at(db: psycopg.Connection, moment: datetime) -> None:
    """This session's database clock at that instant."""
    db.execute("SELECT set_config('mockbook.clock_offset', (%s::timestamptz - now())::text,"
               " false)", (moment,))


def local(zone: str, day: str, hhmm: str, days: int = 0) -> datetime:
    """A wall-clock time that exists once in the zone."""
    wall = datetime.combine(date.fromisoformat(day) + timedelta(days=days),
                            datetime.strptime(hhmm, "%H:%M").time())
    return wall.replace(tzinfo=ZoneInfo(zone))


@pytest.fixture
def restored(db: psycopg.Connection) -> Iterator[None]:
    """The rules, the zone and the clock as they were."""
    saved = db.execute("SELECT rule, value FROM hubspot_sync.booking_rules").fetchall()
    yield
    db.execute("RESET mockbook.clock_offset")
    for rule, value in saved:
        db.execute("UPDATE hubspot_sync.booking_rules SET value = %s WHERE rule = %s",
                   (Jsonb(value), rule))
    reset_business_timezone(db)


def exam_on(db: psycopg.Connection, day: str, start: str | None, end: str | None) -> str:
    exam = one(db, "SELECT tests.make_exam(p_exam_date := %s)", (day,))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = %s, end_time = %s"
               " WHERE hubspot_id = %s", (start, end, exam))
    return exam


@pytest.mark.parametrize(("zone", "kind"), CASES, ids=[f"{z}-{k}" for z, k in CASES])
def test_an_exam_whose_start_the_clocks_skip_or_repeat_has_one_answer_all_day(
        db: psycopg.Connection, restored: None, zone: str, kind: str) -> None:
    rpc(db, "set_business_timezone", p_zone=zone, p_actor="test")
    day, start, end = DST_DAYS[zone][kind]
    exam = exam_on(db, day, start, end)
    starts_at, ends_at, problem = db.execute(
        "SELECT exam_starts_at, exam_ends_at, time_problem FROM hubspot_sync.hubspot_mock_exams"
        " WHERE hubspot_id = %s", (exam,)).fetchone()
    assert starts_at is None and PROBLEM[kind] in problem
    assert ends_at == local(zone, day, end)   # the end is known

    # the day before, at noon: bookable; the notice and the deadline count from the day's start
    at(db, local(zone, day, "12:00", days=-1))
    early = book(db, student(db), exam)
    assert listed(db, exam) == (True, None)
    set_rule(db, "min_notice_hours", 24)
    assert refusal(db, student(db), exam) == "BOOKING_CLOSED"
    set_rule(db, "min_notice_hours", 11)
    assert refusal(db, student(db), exam) is None
    set_rule(db, "min_notice_hours", 0)
    set_rule(db, "cancel_deadline_hours", 24)
    with pytest.raises(RpcError) as late:
        rpc(db, "cancel_booking", p_booking_id=early["booking_id"],
            p_student_id=early["student_id"])
    assert late.value.code == "CANCELLATION_CLOSED"
    set_rule(db, "cancel_deadline_hours", 0)

    # its day has begun, its end is ahead: started (by default not bookable, not listed)
    at(db, local(zone, day, "00:30"))
    assert refusal(db, student(db), exam) == "EXAM_IN_PAST"
    assert listed(db, exam) == (False, "EXAM_IN_PAST")
    set_rule(db, "allow_booking_after_start", True)
    assert refusal(db, student(db), exam) is None
    set_rule(db, "booking_cutoff", True)
    assert refusal(db, student(db), exam) == "BOOKING_CLOSED"
    set_rule(db, "booking_cutoff", False)
    rpc(db, "complete_past_bookings", p_actor="test")
    assert status(db, early) == "Active"

    # 8.5 hours after its known end: over, whatever the rules allow after the start
    at(db, ends_at + timedelta(hours=8, minutes=30))
    assert refusal(db, student(db), exam) == "EXAM_IN_PAST"
    assert listed(db, exam) == (False, "EXAM_IN_PAST")
    rpc(db, "complete_past_bookings", p_actor="test")
    assert status(db, early) == "Completed"


@pytest.mark.parametrize(("zone", "kind"), CASES, ids=[f"{z}-{k}" for z, k in CASES])
def test_an_exam_whose_start_and_end_are_unknown_spans_its_day(
        db: psycopg.Connection, restored: None, zone: str, kind: str) -> None:
    """Start and end both in the hour the clocks skip or repeat: started when its day begins,
    over when its day ends (the job completes it then, not before)."""
    rpc(db, "set_business_timezone", p_zone=zone, p_actor="test")
    day, start, _ = DST_DAYS[zone][kind]
    hour = start.split(":")[0]
    exam = exam_on(db, day, f"{hour}:10", f"{hour}:50")
    assert one(db, "SELECT exam_starts_at FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (exam,)) is None
    at(db, local(zone, day, "12:00", days=-1))
    booking = book(db, student(db), exam)
    at(db, local(zone, day, "23:00"))            # started, not over
    assert refusal(db, student(db), exam) == "EXAM_IN_PAST"
    set_rule(db, "allow_booking_after_start", True)
    assert refusal(db, student(db), exam) is None
    rpc(db, "complete_past_bookings", p_actor="test")
    assert status(db, booking) == "Active"
    at(db, local(zone, day, "00:30", days=1))    # its day is over
    assert refusal(db, student(db), exam) == "EXAM_IN_PAST"
    rpc(db, "complete_past_bookings", p_actor="test")
    assert status(db, booking) == "Completed"


@pytest.mark.parametrize("start", [None, "TBD"], ids=["no start time", "an unreadable start"])
def test_an_exam_without_a_known_start_has_started_when_its_day_begins(
        db: psycopg.Connection, restored: None, start: str | None) -> None:
    """The same answer for a whole-day exam and for a start nobody can read: bookable until its
    day begins, then started; with an end time, over at its end."""
    day = one(db, "SELECT hubspot_sync.business_today() + 3")
    exam = exam_on(db, str(day), start, "15:00")
    zone = "America/Toronto"
    at(db, local(zone, str(day), "23:59", days=-1))
    assert refusal(db, student(db), exam) is None
    at(db, local(zone, str(day), "08:00"))
    assert refusal(db, student(db), exam) == "EXAM_IN_PAST"
    set_rule(db, "allow_booking_after_start", True)
    assert refusal(db, student(db), exam) is None
    at(db, local(zone, str(day), "15:00"))
    assert refusal(db, student(db), exam) == "EXAM_IN_PAST"


def test_an_exam_without_a_known_start_is_a_time_conflict_with_its_day_up_to_its_end(
        db: psycopg.Connection, restored: None) -> None:
    """time_conflict reads the unknown start as the start of the day too: a session earlier
    that day overlaps it, one after its end does not."""
    set_rule(db, "time_conflict", True)
    day, start, end = DST_DAYS["America/Toronto"]["gap"]
    flagged = exam_on(db, day, start, end)                    # [00:00, 03:30]
    before = one(db, "SELECT tests.make_exam(p_mock_type := 'Clinical Skills',"
                     " p_exam_date := %s)", (day,))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = '00:30',"
               " end_time = '01:30' WHERE hubspot_id = %s", (before,))
    after = one(db, "SELECT tests.make_exam(p_mock_type := 'Mini-mock', p_exam_date := %s)",
                (day,))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = '03:30',"
               " end_time = '05:00' WHERE hubspot_id = %s", (after,))
    at(db, local("America/Toronto", day, "12:00", days=-2))
    earlier, later = (one(db, "SELECT tests.make_student(p_sj := 3, p_cs := 3, p_sjmini := 3)")
                      for _ in "ab")
    rpc(db, "create_booking", p_student_id=earlier, p_email=email(earlier),
        p_mock_exam_id=before, p_idempotency_key=f"ut-{uuid.uuid4()}", p_dominant_hand="left")
    with pytest.raises(RpcError) as refused:
        book(db, earlier, flagged)
    assert refused.value.code == "TIME_CONFLICT"
    rpc(db, "create_booking", p_student_id=later, p_email=email(later), p_mock_exam_id=after,
        p_idempotency_key=f"ut-{uuid.uuid4()}", p_attending_location="mississauga")
    assert book(db, later, flagged)["status"] == "Active"   # only touching at 03:30


@pytest.mark.parametrize(("zone", "kind"), [("America/Toronto", "gap"),
                                            ("Australia/Sydney", "repeat")],
                         ids=["America/Toronto-gap", "Australia/Sydney-repeat"])
def test_a_waitlist_offer_follows_the_same_answer(db: psycopg.Connection, restored: None,
                                                  zone: str, kind: str) -> None:
    """Offers are made and accepted only while the exam is bookable: an offer made the evening
    before cannot be accepted once its day has begun (its start unknown), and a seat freed then
    is offered to nobody."""
    rpc(db, "set_business_timezone", p_zone=zone, p_actor="test")
    day, start, end = DST_DAYS[zone][kind]
    exam = exam_on(db, day, start, end)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 1 WHERE hubspot_id = %s",
               (exam,))
    set_rule(db, "offer_hold_minutes", 600)               # held until 07:00 on its day
    at(db, local(zone, day, "21:00", days=-1))
    seated, offered, waiting = student(db), student(db), student(db)
    seat = book(db, seated, exam)
    for who in (offered, waiting):
        rpc(db, "join_waitlist", p_student_id=who, p_email=email(who), p_mock_exam_id=exam,
            p_attending_location="mississauga")
    rpc(db, "cancel_booking", p_booking_id=seat["booking_id"])     # offered to the first
    at(db, local(zone, day, "00:30"))
    with pytest.raises(RpcError) as refused:
        rpc(db, "accept_offer", p_student_id=offered, p_email=email(offered),
            p_mock_exam_id=exam)
    assert refused.value.code == "EXAM_IN_PAST"
    at(db, one(db, "SELECT offer_expires_at + interval '1 minute'"   # the offer has expired
                   " FROM hubspot_sync.waitlist_entries WHERE student_id = %s", (offered,)))
    done = rpc(db, "process_waitlist", p_actor="test")
    assert (done["expired"], done["offered"]) == (1, 0)
    assert one(db, "SELECT status FROM hubspot_sync.waitlist_entries WHERE student_id = %s",
               (waiting,)) == "waiting"
