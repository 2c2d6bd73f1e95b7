"""A business day begins at its first instant, in every zone PostgreSQL knows
(mockbook_internal.day_start; docs/rpc.md, "Unknown times").

Where the clocks go back over midnight (America/Havana: 01:00 CDT -> 00:00 CST on 2026-11-01,
2027-11-07, 2028-11-05; Atlantic/Azores: 01:00 -> 00:00 on 2026-10-25, 2027-10-31, 2028-10-29)
the day's 00:00 happens twice, and PostgreSQL reads `date::timestamp AT TIME ZONE zone` as the
second. Read that way, the first hour of the day was "not started" for an exam of the day whose
start is unknown or repeated: bookable, listed, its offer acceptable, past the cut-off and the
notice, cancellable under a 15-minute deadline, and the day before not yet over. Every rule and
job reads the day's start and end from day_start, tested here in both zones at 00:20 of the
first pass (04:20Z in Havana, 00:20Z in the Azores), and a scan holds day_start against the first
instant computed in Python (zoneinfo, from the zone's offsets alone) for every day of the years
the suite's dates cover, in every zone set_business_timezone accepts.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from postgrest import RpcError, rpc, rpc_rows
from psycopg.types.json import Jsonb
from test_unknown_times import book, email, refusal, student
from zone import reset_business_timezone

# zone -> the days its clocks go back over midnight, and the UTC hour of that day's first 00:00
FALL_BACK_MIDNIGHTS = {
    "America/Havana": (["2026-11-01", "2027-11-07", "2028-11-05"], 4),
    "Atlantic/Azores": (["2026-10-25", "2027-10-31", "2028-10-29"], 0),
}
CASES = [(zone, day) for zone, (days, _) in FALL_BACK_MIDNIGHTS.items() for day in days]
# the years of the suite's dates, scanned day by day in every zone: its fixed dates (2024-2031)
# and those it counts from today (business_today() + n days)
SCAN_FIRST = date(min(2024, date.today().year - 1), 1, 1)
SCAN_LAST = date(max(2031, date.today().year + 3), 12, 31)


def one(db: psycopg.Connection, query: str, params: Any = ()) -> Any:
    return db.execute(query, params).fetchone()[0]



def first_midnight(zone: str, day: str) -> datetime:
    """The day's first 00:00 (zoneinfo's fold=0: the first of a repeated time)."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(),
                            tzinfo=ZoneInfo(zone)).astimezone(UTC)


def at(db: psycopg.Connection, moment: datetime) -> None:
    """This session's database clock at that instant."""
    db.execute("SELECT set_config('mockbook.clock_offset', (%s::timestamptz - now())::text,"
               " false)", (moment,))


def set_rule(db: psycopg.Connection, rule: str, value: Any) -> None:
    rpc(db, "set_booking_rule", p_rule=rule, p_value=value, p_actor="test")





def exam_on(db: psycopg.Connection, day: str, start: str | None, end: str | None,
            capacity: int = 10) -> str:
    exam = one(db, "SELECT tests.make_exam(p_exam_date := %s, p_capacity := %s)", (day, capacity))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = %s, end_time = %s"
               " WHERE hubspot_id = %s", (start, end, exam))
    return exam


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


@pytest.mark.parametrize(("zone", "day"), CASES, ids=[f"{z}-{d}" for z, d in CASES])
def test_the_first_hour_of_a_day_whose_midnight_repeats_is_part_of_the_day(
        db: psycopg.Connection, restored: None, zone: str, day: str) -> None:
    """day_start is the first 00:00; an exam of the day with an unknown or repeated start has
    started then (create_booking refuses it), not an hour later."""
    rpc(db, "set_business_timezone", p_zone=zone, p_actor="test")
    first = first_midnight(zone, day)
    assert first.hour == FALL_BACK_MIDNIGHTS[zone][1]
    # PostgreSQL's own reading is the second 00:00, an hour later
    assert one(db, "SELECT %s::date::timestamp AT TIME ZONE %s", (day, zone)) == (
        first + timedelta(hours=1))
    assert one(db, "SELECT mockbook_internal.day_start(%s::date)", (day,)) == first
    # the end of the day before (the start of the next) is the same instant
    assert one(db, "SELECT mockbook_internal.day_start(%s::date + 1, %s)",
               (str(date.fromisoformat(day) - timedelta(days=1)), zone)) == first
    repeated, unknown = exam_on(db, day, "00:30", "10:00"), exam_on(db, day, "TBD", "10:00")
    # 23:55 the day before: not started (the clock runs on from here while the test sets up, so
    # the margin outlasts a loaded machine's pause)
    at(db, first - timedelta(minutes=5))
    assert one(db, "SELECT hubspot_sync.business_today()") == (
        date.fromisoformat(day) - timedelta(days=1))
    assert refusal(db, student(db), repeated) is None
    at(db, first + timedelta(minutes=20))  # 00:20, the first time
    assert one(db, "SELECT hubspot_sync.business_today()") == date.fromisoformat(day)
    for exam in (repeated, unknown):
        assert refusal(db, student(db), exam) == "EXAM_IN_PAST"


@pytest.mark.parametrize("zone", sorted(FALL_BACK_MIDNIGHTS))
def test_every_rule_and_job_reads_the_days_first_instant(
        db: psycopg.Connection, restored: None, zone: str) -> None:
    """At 00:20 of the first pass: the listing, a held offer, the cut-off, the notice, a
    student's cancellation under a 15-minute deadline, the completion of the day before's
    exams, and the day before's end: each decides as the day having begun."""
    rpc(db, "set_business_timezone", p_zone=zone, p_actor="test")
    day = FALL_BACK_MIDNIGHTS[zone][0][1]
    first = first_midnight(zone, day)
    before = str(date.fromisoformat(day) - timedelta(days=1))
    exam = exam_on(db, day, "00:30", "10:00", capacity=1)
    tbd = exam_on(db, day, "TBD", None)
    yesterday = exam_on(db, before, "18:00", None)       # its end: the end of its day
    assert one(db, "SELECT exam_ends_at FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (yesterday,)) == first
    assert one(db, "SELECT exam_ends_at FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (tbd,)) == first_midnight(
        zone, str(date.fromisoformat(day) + timedelta(days=1)))

    # the afternoon before: a seat booked, an offer held on the full exam, a booking of yesterday
    at(db, first - timedelta(hours=8))
    seated, offered, late = student(db), student(db), student(db)
    seat = book(db, seated, exam)
    rpc(db, "join_waitlist", p_student_id=offered, p_email=email(offered), p_mock_exam_id=exam,
        p_attending_location="mississauga")
    kept = book(db, late, tbd)
    done_yesterday = book(db, late, yesterday)
    set_rule(db, "offer_hold_minutes", 600)
    rpc(db, "cancel_booking", p_booking_id=seat["booking_id"])          # offered to `offered`
    assert one(db, "SELECT status FROM hubspot_sync.waitlist_entries WHERE student_id = %s",
               (offered,)) == "offered"

    # the notice: 1 hour before the start of the day closes at 23:00 the day before
    set_rule(db, "min_notice_hours", 1)
    at(db, first - timedelta(minutes=30))
    assert refusal(db, student(db), tbd) == "BOOKING_CLOSED"
    set_rule(db, "min_notice_hours", 0)

    at(db, first + timedelta(minutes=20))
    # listed as started, not bookable
    listed = {r["mock_exam_id"]: r["reason"]
              for r in rpc_rows(db, "list_available_exams", p_include_unbookable=True)}
    assert (listed[exam], listed[tbd], listed[yesterday]) == (
        "EXAM_IN_PAST", "EXAM_IN_PAST", "EXAM_IN_PAST")
    assert tbd not in {r["mock_exam_id"] for r in rpc_rows(db, "list_available_exams")}
    # the held offer cannot be accepted: the exam has started
    with pytest.raises(RpcError) as refused:
        rpc(db, "accept_offer", p_student_id=offered, p_email=email(offered),
            p_mock_exam_id=exam)
    assert refused.value.code == "EXAM_IN_PAST"
    # the cut-off applies even where booking after the start is allowed
    set_rule(db, "allow_booking_after_start", True)
    assert refusal(db, student(db), tbd) is None
    set_rule(db, "booking_cutoff", True)
    assert refusal(db, student(db), tbd) == "BOOKING_CLOSED"
    set_rule(db, "booking_cutoff", False)
    set_rule(db, "allow_booking_after_start", False)
    # a student's cancellation 15 minutes or less before the start is refused
    set_rule(db, "cancel_deadline_hours", 0.25)
    with pytest.raises(RpcError) as closed:
        rpc(db, "cancel_booking", p_booking_id=kept["booking_id"], p_student_id=late)
    assert closed.value.code == "CANCELLATION_CLOSED"
    set_rule(db, "cancel_deadline_hours", 0)
    # yesterday's exam (no end time) took place when this day began: completed
    rpc(db, "complete_past_bookings", p_actor="test")
    states = dict(db.execute("SELECT id::text, is_active FROM hubspot_sync.hubspot_bookings"
                             " WHERE id = ANY(%s::uuid[])",
                             ([kept["id"], done_yesterday["id"]],)).fetchall())
    assert states == {done_yesterday["id"]: "Completed", kept["id"]: "Active"}


def test_a_stored_end_of_day_is_derived_again_by_the_zone_change(
        db: psycopg.Connection, restored: None) -> None:
    """set_business_timezone derives every exam's instants again: an end-of-day end moves to the
    next day's first instant of the new zone."""
    day = FALL_BACK_MIDNIGHTS["America/Havana"][0][1]
    before = str(date.fromisoformat(day) - timedelta(days=1))
    exam = exam_on(db, before, "18:00", None)
    rpc(db, "set_business_timezone", p_zone="America/Havana", p_actor="test")
    assert one(db, "SELECT exam_ends_at FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (exam,)) == first_midnight("America/Havana", day)


def test_a_listed_booking_and_a_booking_result_end_at_the_next_days_first_instant(
        db: psycopg.Connection, restored: None) -> None:
    """list_contact_bookings and the booking result read a booking's end of day the same way."""
    rpc(db, "set_business_timezone", p_zone="Atlantic/Azores", p_actor="test")
    day = FALL_BACK_MIDNIGHTS["Atlantic/Azores"][0][1]
    before = str(date.fromisoformat(day) - timedelta(days=1))
    exam = exam_on(db, before, "18:00", None)
    at(db, first_midnight("Atlantic/Azores", before) - timedelta(days=2))
    who, key = student(db), f"ds-{uuid.uuid4()}"
    args = {"p_student_id": who, "p_email": email(who), "p_mock_exam_id": exam,
            "p_idempotency_key": key, "p_attending_location": "mississauga"}
    made = rpc(db, "create_booking", **args)
    first = first_midnight("Atlantic/Azores", day)
    assert datetime.fromisoformat(made["ends_at"]) == first
    # the exam moved since: the booking's own copy of the times is read, by the listing and by
    # the replay of its key
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = '19:00'"
               " WHERE hubspot_id = %s", (exam,))
    row = next(r for r in rpc_rows(db, "list_contact_bookings", p_student_id=who)
               if str(r["id"]) == made["id"])
    assert row["ends_at"] == first
    replay = rpc(db, "create_booking", **args)
    assert replay["idempotent_replay"] is True
    assert datetime.fromisoformat(replay["ends_at"]) == first


# ---- the scan -----------------------------------------------------------------------------------
def utc_offsets(zone: ZoneInfo, start: int, end: int) -> tuple[list[int], list[int]]:
    """The zone's offsets from start to end (epoch seconds) as pieces: (first instant of each,
    its offset), each change found between two samples a day apart and bisected to the second
    (the zones change their offset weeks or months apart)."""

    def offset(t: int) -> int:
        return int(datetime.fromtimestamp(t, zone).utcoffset().total_seconds())

    starts, offsets = [start], [offset(start)]
    previous = start
    for t in range(start + 86400, end, 86400):
        now = offset(t)
        if now != offsets[-1]:
            low, high = previous, t
            while high - low > 1:
                mid = (low + high) // 2
                low, high = (mid, high) if offset(mid) == offsets[-1] else (low, mid)
            starts.append(high)
            offsets.append(now)
        previous = t
    return starts, offsets


def first_instants(name: str, first: date, last: date) -> list[int]:
    """Each day's first instant (epoch seconds): the earliest t whose local time t + offset(t)
    is the day's 00:00 or later, from the zone's pieces alone."""
    midnight0 = int(datetime.combine(first, datetime.min.time(), tzinfo=UTC).timestamp())
    days = (last - first).days + 1
    starts, offsets = utc_offsets(ZoneInfo(name), midnight0 - 3 * 86400,
                                  midnight0 + (days + 3) * 86400)
    result = []
    for i in range(days):
        midnight = midnight0 + i * 86400           # the local 00:00, counted as if UTC
        k = max(bisect.bisect_right(starts, midnight - 2 * 86400) - 1, 0)
        while True:
            end = starts[k + 1] if k + 1 < len(starts) else float("inf")
            t = max(starts[k], midnight - offsets[k])
            if t < end:
                result.append(t)
                break
            k += 1
    return result


def test_day_start_is_the_first_instant_of_every_day_in_every_zone(
        db: psycopg.Connection) -> None:
    """Every zone set_business_timezone accepts, every day from SCAN_FIRST to SCAN_LAST: the
    helper's instant equals the first instant Python finds from the zone's offsets."""
    names = [name for (name,) in db.execute(
        "SELECT DISTINCT name FROM pg_catalog.pg_timezone_names"
        " WHERE name !~ '^(posix|right)/' AND name ~ '/|^UTC$'")]
    assert len(names) > 300 and {"America/Havana", "Atlantic/Azores", "UTC"} <= set(names)
    # the server's answers computed while Python computes its own
    with ThreadPoolExecutor(1) as pool:
        asked = pool.submit(lambda: dict(db.cursor(binary=True).execute(
            "SELECT z, array_agg(extract(epoch FROM mockbook_internal.day_start(d::date, z))"
            "::bigint ORDER BY d)"
            " FROM unnest(%s::text[]) AS z"
            " CROSS JOIN generate_series(%s::date, %s::date, interval '1 day') AS d"
            " GROUP BY z", (names, SCAN_FIRST, SCAN_LAST)).fetchall()))
        expected_of = {name: first_instants(name, SCAN_FIRST, SCAN_LAST) for name in names}
        answers = asked.result()
    wrong = {}
    for name, got in answers.items():
        expected = expected_of[name]
        bad = [i for i, (x, y) in enumerate(zip(expected, got, strict=True)) if x != y]
        if bad:
            day = SCAN_FIRST + timedelta(days=bad[0])
            wrong[name] = (len(bad), str(day), datetime.fromtimestamp(expected[bad[0]], UTC),
                           datetime.fromtimestamp(got[bad[0]], UTC))
    assert wrong == {}


def test_day_start_reads_a_jump_over_midnight_at_the_jump(db: psycopg.Connection) -> None:
    """The days whose midnight the clocks skip without starting the jump at it, or repeat
    without ending it there, outside the scanned years: Toronto 1919-03-30 23:30 EST -> 00:30
    EDT, St. John's 2010-11-07 00:01 NDT -> 23:01 NST."""
    for name, day in (("America/Toronto", date(1919, 3, 31)),
                      ("America/St_Johns", date(2010, 11, 7)),
                      ("America/St_Johns", date(2010, 11, 6))):
        got = one(db, "SELECT mockbook_internal.day_start(%s, %s)", (day, name))
        assert int(got.timestamp()) == first_instants(name, day, day)[0], (name, day)
