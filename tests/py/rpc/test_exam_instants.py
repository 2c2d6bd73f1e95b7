"""Exam times as the platform stores them, read as instants, and the rules that use them.

The original apps and HubSpot store an exam's start_time / end_time as ISO-8601 instants: the
admin app builds them with `new Date(`${exam_date}T${start_time}:00`).toISOString()`-style
conversions and HubSpot returns them as e.g. '2025-12-25T19:00:00.000Z' (the production dump,
tests/fixtures' schema, holds them as text); older rows hold 'HH:MM' local to the business time
zone. Every rule and job must read both as the same kind of instant (exam_starts_at /
exam_ends_at, kept by the exam trigger), and a value it cannot read is reported, never taken for
"no time". Each test here failed on the reader that knew only 'HH:MM'.

Time in the database is mockbook_internal.clock_now() (now() + mockbook.clock_offset): a test
moves it with a session setting, so nothing here depends on the hour the suite runs at.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from booking_calls import new_exam
from invariants import check_invariants, snapshot, table_digests
from postgrest import RpcError, rpc, rpc_rows
from psycopg import sql
from psycopg.types.json import Jsonb
from test_lock_order import Call
from test_who_acts import call
from waiting import wait_until
from zone import reset_business_timezone


def one(db: psycopg.Connection, query: str, params: Any = ()) -> Any:
    return db.execute(query, params).fetchone()[0]


def email(student: str) -> str:
    return f"{student.lower()}@example.com"


def iso(moment: datetime) -> str:
    """An instant as HubSpot and the original app write it: milliseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def db_now(db: psycopg.Connection) -> datetime:
    return one(db, "SELECT mockbook_internal.clock_now()")


def make_exam(db: psycopg.Connection, *, start: str | None = "09:00", end: str | None = "12:00",
              day: int = 7, capacity: int = 10, mock_type: str = "Situational Judgment",
              is_active: str = "true") -> str:
    exam = one(db, "SELECT tests.make_exam(p_mock_type := %s, p_capacity := %s,"
                   " p_exam_date := hubspot_sync.business_today() + %s, p_is_active := %s)",
               (mock_type, capacity, day, is_active))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = %s, end_time = %s"
               " WHERE hubspot_id = %s", (start, end, exam))
    return exam


def make_exam_at(db: psycopg.Connection, start: datetime, end: datetime, **kw: Any) -> str:
    """An exam whose times are ISO instants, on the business day of its start."""
    exam = make_exam(db, **kw)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = %s, end_time = %s,"
               " exam_date = (%s::timestamptz"
               "              AT TIME ZONE mockbook_internal.business_timezone())::date"
               " WHERE hubspot_id = %s", (iso(start), iso(end), start, exam))
    return exam


def make_student(db: psycopg.Connection, credits: int = 5) -> str:
    return one(db, "SELECT tests.make_student(p_sj := %s, p_cs := %s)", (credits, credits))


def book(db: psycopg.Connection, student: str, exam: str, **kw: Any) -> dict:
    return rpc(db, "create_booking", p_student_id=student, p_email=email(student),
               p_mock_exam_id=exam, p_idempotency_key=f"inst-{uuid.uuid4()}",
               p_attending_location="mississauga", p_dominant_hand="right", **kw)


@pytest.fixture
def rules(db: psycopg.Connection) -> Iterator[None]:
    saved = db.execute("SELECT rule, value FROM hubspot_sync.booking_rules").fetchall()
    yield
    for rule, value in saved:
        db.execute("UPDATE hubspot_sync.booking_rules SET value = %s WHERE rule = %s",
                   (Jsonb(value), rule))


def set_rule(db: psycopg.Connection, rule: str, value: Any) -> None:
    rpc(db, "set_booking_rule", p_rule=rule, p_value=value, p_actor="test")


def set_local_time(db: psycopg.Connection, hhmm: str) -> None:
    """Moves this session's database clock to hhmm today, business time zone."""
    db.execute("""
        SELECT set_config('mockbook.clock_offset',
                          ((((now() AT TIME ZONE z)::date + %s::time) AT TIME ZONE z)
                           - now())::text,
                          false)
        FROM mockbook_internal.business_timezone() AS z""", (hhmm,))


@pytest.fixture
def midday(db: psycopg.Connection) -> Iterator[None]:
    """The session's clock at 12:00 today, business time zone: an exam that started an hour ago
    is today's, whatever the hour the suite runs at (at 00:30 it would be yesterday's)."""
    set_local_time(db, "12:00")
    try:
        yield
    finally:
        db.execute("RESET mockbook.clock_offset")


# --- reading the formats ---------------------------------------------------------------------

@pytest.mark.parametrize(("stored", "expected_utc"), [
    ("2025-12-25T19:00:00.000Z", "2025-12-25 19:00"),   # HubSpot / the original app
    ("2025-12-25T19:00:00Z", "2025-12-25 19:00"),
    ("2025-12-25T19:00Z", "2025-12-25 19:00"),
    ("2025-12-25T14:00:00-05:00", "2025-12-25 19:00"),  # an offset
    ("14:00", "2025-12-25 19:00"),                      # local, America/Toronto in winter
    ("14:00:00", "2025-12-25 19:00"),
    ("2:00 PM", "2025-12-25 19:00"),
])
def test_every_stored_time_format_reads_as_the_same_instant(db: psycopg.Connection, stored: str,
                                                            expected_utc: str) -> None:
    got = one(db, "SELECT to_char(mockbook_internal.exam_starts_at('2025-12-25', %s)"
                  " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')", (stored,))
    assert got == expected_utc


def test_a_local_time_on_a_daylight_saving_day_keeps_its_wall_clock(db: psycopg.Connection) -> None:
    """2026-03-08 is the day Toronto moves to EDT (UTC-4): 09:00 that day is 13:00 UTC, the
    day before 14:00 UTC."""
    got = [one(db, "SELECT to_char(mockbook_internal.exam_starts_at(%s, '09:00')"
                   " AT TIME ZONE 'UTC', 'HH24:MI')", (day,))
           for day in ("2026-03-07", "2026-03-08")]
    assert got == ["14:00", "13:00"]


@pytest.mark.parametrize("stored", ["TBD", "25:00", "13:00 PM", "2025-02-30T10:00:00Z", "noon"])
def test_an_unreadable_time_is_recorded_on_the_exam_never_taken_for_no_time(
        db: psycopg.Connection, stored: str) -> None:
    exam = make_exam(db, start=stored)
    problem, starts_at = db.execute(
        "SELECT time_problem, exam_starts_at FROM hubspot_sync.hubspot_mock_exams"
        " WHERE hubspot_id = %s", (exam,)).fetchone()
    assert starts_at is None
    assert problem is not None and stored in problem
    # fixing the text clears it, in step
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = '10:00'"
               " WHERE hubspot_id = %s", (exam,))
    assert one(db, "SELECT time_problem IS NULL AND exam_starts_at IS NOT NULL"
                   " FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s", (exam,))


def test_an_instant_on_another_day_than_exam_date_is_reported_and_the_instant_wins(
        db: psycopg.Connection) -> None:
    exam = make_exam(db, day=7)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = '2030-01-02T15:00:00.000Z',"
               " end_time = '2030-01-02T18:00:00.000Z' WHERE hubspot_id = %s", (exam,))
    problem, starts_at = db.execute(
        "SELECT time_problem, exam_starts_at FROM hubspot_sync.hubspot_mock_exams"
        " WHERE hubspot_id = %s", (exam,)).fetchone()
    assert starts_at == datetime(2030, 1, 2, 15, tzinfo=UTC)
    assert "not on exam_date" in problem


def test_an_unknown_business_time_zone_is_a_clear_error_not_a_raw_22023(
        db: psycopg.Connection) -> None:
    exam = make_exam(db)
    student = make_student(db)
    # stored by hand, past set_business_timezone's check
    database = sql.Identifier(db.info.dbname)
    db.execute(sql.SQL("ALTER DATABASE {} SET mockbook.business_timezone = 'Mars/Olympus_Mons'")
               .format(database))
    try:
        # compiled in as an install or upgrade of the functions does
        assert one(db, "SELECT mockbook_internal.stamp_business_timezone()") == "Mars/Olympus_Mons"
        with pytest.raises(RpcError) as refused:
            book(db, student, exam)
        # a call that needs no zone answers as it would with one: no such exam
        with pytest.raises(RpcError) as no_exam:
            book(db, student, "NO_SUCH_EXAM")
    finally:
        reset_business_timezone(db)
    assert no_exam.value.code == "EXAM_NOT_FOUND", no_exam.value
    assert refused.value.code == "INVALID_ARGUMENT"
    assert "mockbook.business_timezone" in refused.value.detail
    assert one(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s",
               (student,)) == 0


def test_the_zone_is_this_databases_own_never_another_databases_or_a_roles(
        db: psycopg.Connection) -> None:
    """The zone is read from the catalog row of this database for every role: a zone set for
    another database, or for one role in this database, is not the business time zone. Set in
    a transaction rolled back at the end, so no other session sees them."""
    database = sql.Identifier(db.info.dbname)
    with db.transaction(force_rollback=True):
        db.execute(sql.SQL("ALTER DATABASE {} RESET mockbook.business_timezone").format(database))
        db.execute("ALTER DATABASE postgres SET mockbook.business_timezone = 'Asia/Tokyo'")
        db.execute(sql.SQL("ALTER ROLE anon IN DATABASE {} SET mockbook.business_timezone ="
                           " 'Australia/Sydney'").format(database))
        assert one(db, "SELECT mockbook_internal.stored_business_timezone()") is None
        assert one(db, "SELECT mockbook_internal.stamp_business_timezone()") == "America/Toronto"
        assert one(db, "SELECT mockbook_internal.business_timezone()") == "America/Toronto"


@pytest.mark.parametrize(("start", "says_unknown"), [("TBD", True), ("11:00", False)])
def test_a_started_exam_is_refused_saying_whether_its_start_was_known(
        db: psycopg.Connection, midday: None, start: str, says_unknown: bool) -> None:
    """Today at 12:00, an exam ending at 17:00 has started: at 11:00, or at the start of its day
    when its start cannot be read. EXAM_IN_PAST says which: "its start time is not known"
    exactly when it is not."""
    exam = make_exam(db, start=start, end="17:00", day=0)
    with pytest.raises(RpcError) as refused:
        book(db, make_student(db), exam)
    assert refused.value.code == "EXAM_IN_PAST"
    assert "started at" in refused.value.detail, refused.value.detail
    assert ("its start time is not known" in refused.value.detail) is says_unknown


# --- the rules on ISO-timed exams ------------------------------------------------------------

def test_an_iso_timed_exam_that_started_an_hour_ago_is_refused_by_default(
        db: psycopg.Connection, midday: None) -> None:
    now = db_now(db)
    exam = make_exam_at(db, now - timedelta(hours=1), now + timedelta(hours=2))
    student = make_student(db)
    before = snapshot(db)
    with pytest.raises(RpcError) as refused:
        book(db, student, exam)
    assert refused.value.code == "EXAM_IN_PAST"
    assert "started" in refused.value.detail
    check_invariants(db, before)
    assert one(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                   " WHERE student_id = %s", (student,)) == 5


def test_the_cut_off_applies_to_an_iso_timed_exam(db: psycopg.Connection, rules: None,
                                                  midday: None) -> None:
    """With allow_booking_after_start on, the booking_cutoff rule still closes booking at the
    start: the old reader took the ISO value for "no time" and booked it."""
    set_rule(db, "allow_booking_after_start", True)
    now = db_now(db)
    exam = make_exam_at(db, now - timedelta(hours=1), now + timedelta(hours=2))
    assert book(db, make_student(db), exam)["status"] == "Active"   # no cut-off: allowed
    set_rule(db, "booking_cutoff", True)
    with pytest.raises(RpcError) as refused:
        book(db, make_student(db), exam)
    assert refused.value.code == "BOOKING_CLOSED"


def test_minimum_notice_applies_to_an_iso_timed_exam(db: psycopg.Connection, rules: None) -> None:
    set_rule(db, "min_notice_hours", 24)
    now = db_now(db)
    soon = make_exam_at(db, now + timedelta(hours=5), now + timedelta(hours=8))
    with pytest.raises(RpcError) as refused:
        book(db, make_student(db), soon)
    assert refused.value.code == "BOOKING_CLOSED"


def test_two_overlapping_iso_timed_exams_are_a_time_conflict(db: psycopg.Connection,
                                                              rules: None) -> None:
    set_rule(db, "time_conflict", True)
    start = db_now(db) + timedelta(days=10)
    first = make_exam_at(db, start, start + timedelta(hours=3))
    second = make_exam_at(db, start + timedelta(hours=2), start + timedelta(hours=4),
                          mock_type="Clinical Skills")
    student = make_student(db)
    book(db, student, first)
    with pytest.raises(RpcError) as refused:
        book(db, student, second)
    assert refused.value.code == "TIME_CONFLICT"


def test_the_cancellation_deadline_applies_to_an_iso_timed_exam(db: psycopg.Connection,
                                                                 rules: None) -> None:
    now = db_now(db)
    exam = make_exam_at(db, now + timedelta(hours=3), now + timedelta(hours=6))
    student = make_student(db)
    booking = book(db, student, exam)
    set_rule(db, "cancel_deadline_hours", 24)
    with pytest.raises(RpcError) as refused:
        rpc(db, "cancel_booking", p_booking_id=booking["booking_id"], p_student_id=student)
    assert refused.value.code == "CANCELLATION_CLOSED"


def test_with_no_cancellation_deadline_a_student_cancels_up_to_the_start(
        db: psycopg.Connection, rules: None) -> None:
    """cancel_deadline_hours read as JSON null (its row's value, or no row: off): a student's own
    cancellation half an hour before the start is taken; no deadline of any length stands in for
    the rule left off."""
    db.execute("UPDATE hubspot_sync.booking_rules SET value = 'null'::jsonb"
               " WHERE rule = 'cancel_deadline_hours'")
    now = db_now(db)
    exam = make_exam_at(db, now + timedelta(minutes=30), now + timedelta(hours=3))
    student = make_student(db)
    booking = book(db, student, exam)
    done = rpc(db, "cancel_booking", p_booking_id=booking["booking_id"], p_student_id=student)
    assert done["status"] == "Cancelled"


def test_the_cancellation_deadline_closes_at_its_hour_to_the_second(db: psycopg.Connection,
                                                                     rules: None) -> None:
    """cancel_deadline_hours 1: a student's cancellation 0.3 s past one hour before the start is
    CANCELLATION_CLOSED (hours are 3,600 seconds each)."""
    start = (db_now(db) + timedelta(days=1)).replace(microsecond=0)
    exam = make_exam_at(db, start, start + timedelta(hours=3))
    student = make_student(db)
    booking = book(db, student, exam)
    set_rule(db, "cancel_deadline_hours", 1)
    db.execute("SELECT set_config('mockbook.clock_offset', (%s::timestamptz - now())::text,"
               " false)", (start - timedelta(hours=1) + timedelta(seconds=0.3),))
    try:
        with pytest.raises(RpcError) as refused:
            rpc(db, "cancel_booking", p_booking_id=booking["booking_id"], p_student_id=student)
    finally:
        db.execute("RESET mockbook.clock_offset")
    assert refused.value.code == "CANCELLATION_CLOSED"


def test_the_minimum_notice_opens_and_closes_to_the_second(db: psycopg.Connection,
                                                            rules: None) -> None:
    """min_notice_hours 24 (hours are 3,600 seconds each): a booking 10 s before the notice
    window begins is taken, one 0.3 s inside it is BOOKING_CLOSED."""
    start = (db_now(db) + timedelta(days=3)).replace(microsecond=0)
    exam = make_exam_at(db, start, start + timedelta(hours=3))
    set_rule(db, "min_notice_hours", 24)
    window = start - timedelta(hours=24)
    outcome = {}
    for label, moment in (("before", window - timedelta(seconds=10)),
                          ("inside", window + timedelta(seconds=0.3))):
        db.execute("SELECT set_config('mockbook.clock_offset', (%s::timestamptz - now())::text,"
                   " false)", (moment,))
        try:
            outcome[label] = book(db, make_student(db), exam)["status"]
        except RpcError as refused:
            outcome[label] = refused.code
        finally:
            db.execute("RESET mockbook.clock_offset")
    assert outcome == {"before": "Active", "inside": "BOOKING_CLOSED"}


def test_an_exam_that_ended_earlier_today_is_not_bookable_with_the_default_rules(
        db: psycopg.Connection) -> None:
    set_local_time(db, "20:00")
    try:
        exam = make_exam(db, start="09:00", end="12:00", day=0)
        listed = [r["mock_exam_id"] for r in rpc_rows(db, "list_available_exams")]
        with pytest.raises(RpcError) as refused:
            book(db, make_student(db), exam)
    finally:
        db.execute("RESET mockbook.clock_offset")
    assert refused.value.code == "EXAM_IN_PAST"
    assert exam not in listed


# --- the day's job ----------------------------------------------------------------------------

def test_the_job_completes_by_the_exams_own_end_never_a_stale_copy_nor_a_closed_exam(
        db: psycopg.Connection) -> None:
    """A booking of an exam moved to a later day keeps its old copy until the copy follows;
    the job reads the exam, so the booking is not completed on the old day. A deactivated exam
    did not take place: its booking is not completed either."""
    student = make_student(db)
    moved = make_exam(db, day=5)
    closed = make_exam(db, day=6, mock_type="Clinical Skills")
    b_moved = book(db, student, moved)["id"]
    b_closed = book(db, student, closed)["id"]
    # the bookings' copies say "two days ago" (as a stale copy would), the moved exam is ahead,
    # and the other exam ended two days ago but was deactivated
    db.execute("UPDATE hubspot_sync.hubspot_bookings"
               " SET exam_date = hubspot_sync.business_today() - 2"
               " WHERE id = ANY (%s)", ([b_moved, b_closed],))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams"
               " SET exam_date = hubspot_sync.business_today() - 2,"
               " is_active = 'false' WHERE hubspot_id = %s", (closed,))
    before = snapshot(db)
    result = rpc(db, "complete_past_bookings")
    statuses = dict(db.execute("SELECT id::text, is_active FROM hubspot_sync.hubspot_bookings"
                               " WHERE id = ANY (%s)", ([b_moved, b_closed],)).fetchall())
    assert statuses == {b_moved: "Active", b_closed: "Active"}, result
    check_invariants(db, before)


def test_a_booking_of_an_unknown_exam_completes_once_its_day_is_over(
        db: psycopg.Connection) -> None:
    """docs/rpc.md, complete_past_bookings: "a booking of an unknown exam completes once its
    exam_date is before today". Two bookings whose exams are gone from the table (a legacy row,
    an exam never pulled), dated yesterday and today: the job completes yesterday's only."""
    student = make_student(db)
    exams = [make_exam(db, day=5), make_exam(db, day=6)]
    ids = [book(db, student, exam)["id"] for exam in exams]
    db.execute("DELETE FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = ANY (%s)",
               (exams,))
    for booking, days_ago in zip(ids, (1, 0), strict=True):
        db.execute("UPDATE hubspot_sync.hubspot_bookings"
                   " SET exam_date = hubspot_sync.business_today() - %s WHERE id = %s",
                   (days_ago, booking))
    ledger = one(db, "SELECT count(*) FROM hubspot_sync.credit_ledger")
    rpc(db, "complete_past_bookings", p_actor="test")
    statuses = dict(db.execute("SELECT id::text, is_active FROM hubspot_sync.hubspot_bookings"
                               " WHERE id = ANY (%s)", (ids,)).fetchall())
    assert statuses == {ids[0]: "Completed", ids[1]: "Active"}
    assert one(db, "SELECT count(*) FROM hubspot_sync.credit_ledger") == ledger


# --- offers stop holding their seat at their instant -----------------------------------------

def test_an_expired_offer_stops_holding_its_seat_before_the_job_runs(
        db: psycopg.Connection) -> None:
    exam = make_exam(db, capacity=1, day=8)
    first, waiting, late = make_student(db), make_student(db), make_student(db)
    booking = book(db, first, exam)
    rpc(db, "join_waitlist", p_student_id=waiting, p_email=email(waiting), p_mock_exam_id=exam,
        p_attending_location="mississauga")
    rpc(db, "cancel_booking", p_booking_id=booking["booking_id"])   # the seat is offered
    expires = one(db, "SELECT offer_expires_at FROM hubspot_sync.waitlist_entries"
                      " WHERE mock_exam_id = %s AND status = 'offered'", (exam,))
    with pytest.raises(RpcError) as held:
        book(db, late, exam)
    assert held.value.code == "EXAM_FULL"
    # one minute past the offer's instant; process_waitlist has not run
    db.execute("SELECT set_config('mockbook.clock_offset', (%s::timestamptz - now()"
               " + interval '1 minute')::text, false)", (expires,))
    try:
        before = snapshot(db)
        (row,) = [r for r in rpc_rows(db, "list_available_exams") if r["mock_exam_id"] == exam]
        assert (row["remaining_seats"], row["held_seats"]) == (1, 0)
        with pytest.raises(RpcError) as expired:
            rpc(db, "accept_offer", p_student_id=waiting, p_email=email(waiting),
                p_mock_exam_id=exam)
        assert expired.value.code == "OFFER_EXPIRED"
        assert "no longer held" in expired.value.detail
        assert book(db, late, exam)["status"] == "Active"
        check_invariants(db, before)
    finally:
        db.execute("RESET mockbook.clock_offset")


# --- list_available_exams agrees with create_booking -----------------------------------------

# a request's settings with the service key, for a transaction the test keeps open
SERVICE_KEY = ("SELECT set_config('role', 'service_role', true),"
               " set_config('request.jwt.claims', '{\"role\": \"service_role\"}', true)")


def book_in_transaction(db: psycopg.Connection, student: str, exam: str) -> None:
    """create_booking as the service key, in the transaction the caller has open (`book` is a
    request of its own): the caller decides when it ends, and the locks it took last that long."""
    db.execute(SERVICE_KEY)
    db.execute("SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s,"
               " p_mock_exam_id := %s, p_idempotency_key := %s,"
               " p_attending_location := 'mississauga', p_dominant_hand := 'right')",
               (student, email(student), exam, f"probe-{uuid.uuid4()}"))


def would_book(db: psycopg.Connection, student: str, exam: str) -> str | None:
    """The code create_booking answers for this student and exam now, in a transaction that is
    rolled back (nothing is booked)."""
    try:
        with db.transaction(force_rollback=True):
            book_in_transaction(db, student, exam)
    except psycopg.Error as exc:
        if exc.sqlstate and exc.sqlstate.startswith("PT"):
            return exc.diag.message_primary
        raise
    return None


def test_the_list_for_a_student_is_exactly_what_create_booking_accepts(
        db: psycopg.Connection, rules: None) -> None:
    set_rule(db, "time_conflict", True)
    set_rule(db, "max_active_per_type", 2)
    now = db_now(db)
    student = make_student(db, credits=3)
    exams = [
        make_exam(db, day=3), make_exam(db, day=3),              # the second: same type, same day
        make_exam(db, day=4, mock_type="Clinical Skills"),
        make_exam(db, day=5, is_active="false"),
        make_exam(db, day=-1),
        make_exam(db, day=9, mock_type="Mini-mock"),              # no Mini-mock credit
        make_exam_at(db, now - timedelta(hours=1), now + timedelta(hours=1)),   # started
        make_exam_at(db, now + timedelta(days=4, minutes=30), now + timedelta(days=4, hours=2),
                     mock_type="Clinical Skills"),               # may overlap the day-4 exam
        make_exam(db, day=12), make_exam(db, day=14, capacity=0),
    ]
    book(db, student, exams[0])
    rows = {r["mock_exam_id"]: r for r in rpc_rows(db, "list_available_exams",
                                                    p_student_id=student,
                                                    p_include_unbookable=True)
            if r["mock_exam_id"] in exams}
    assert set(rows) == set(exams)
    listed = {r["mock_exam_id"] for r in rpc_rows(db, "list_available_exams", p_student_id=student)}
    for exam in exams:
        expected = would_book(db, student, exam)
        reason = rows[exam]["reason"]
        if reason is None and rows[exam]["is_full"]:
            assert expected == "EXAM_FULL", exam
        else:
            assert reason == expected, (exam, reason, expected)
        assert (exam in listed) == (reason is None), exam
    assert rows[exams[1]]["reason"] == "DUPLICATE_BOOKING"
    assert rows[exams[5]]["reason"] == "INSUFFICIENT_CREDITS"
    assert rows[exams[6]]["reason"] == "EXAM_IN_PAST"
    assert rows[exams[2]]["starts_at"] is not None and rows[exams[2]]["time_zone"]


# --- the business time zone, checked where it is set -----------------------------------------

@pytest.fixture
def zone_restored(db: psycopg.Connection) -> Iterator[None]:
    """Puts the module database's zone setting back (set_business_timezone stores it with
    ALTER DATABASE, which outlives the test)."""
    yield
    reset_business_timezone(db)


@pytest.mark.parametrize("zone", [
    "Mars/Olympus_Mons", "EST", "", "+05:00", "posix/America/Toronto"])
def test_an_unknown_time_zone_is_refused_where_it_is_set_and_nothing_changes(
        db: psycopg.Connection, zone_restored: None, zone: str) -> None:
    exam = make_exam(db)
    before = db.execute("SELECT exam_starts_at FROM hubspot_sync.hubspot_mock_exams"
                        " WHERE hubspot_id = %s", (exam,)).fetchone()
    audits = one(db, "SELECT count(*) FROM hubspot_sync.booking_rule_changes")
    with pytest.raises(RpcError) as refused:
        rpc(db, "set_business_timezone", p_zone=zone, p_actor="test")
    assert refused.value.code == "INVALID_ARGUMENT"
    # nothing stored: not the database's setting, not the exams, no audit row
    assert one(db, "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d"
                   " ON d.oid = s.setdatabase WHERE d.datname = current_database()"
                   " AND array_to_string(s.setconfig, ',') LIKE '%%business_timezone%%'") == 0
    assert db.execute("SELECT exam_starts_at FROM hubspot_sync.hubspot_mock_exams"
                      " WHERE hubspot_id = %s", (exam,)).fetchone() == before
    assert one(db, "SELECT count(*) FROM hubspot_sync.booking_rule_changes") == audits


def test_setting_the_zone_moves_local_times_not_instants_and_is_audited(
        db: psycopg.Connection, database_url: str, zone_restored: None) -> None:
    local = make_exam(db, start="09:00", end="12:00", day=30)
    start = db_now(db) + timedelta(days=31)
    fixed = make_exam_at(db, start, start + timedelta(hours=3))
    read = ("SELECT exam_starts_at, exam_ends_at FROM hubspot_sync.hubspot_mock_exams"
            " WHERE hubspot_id = %s")
    local_before = db.execute(read, (local,)).fetchone()
    fixed_before = db.execute(read, (fixed,)).fetchone()

    result = rpc(db, "set_business_timezone", p_zone="america/vancouver", p_actor="ops")
    assert result["time_zone"] == "America/Vancouver"  # the canonical spelling
    assert result["previous_time_zone"] == "America/Toronto"
    # 09:00 in Vancouver is three hours after 09:00 in Toronto; the ISO instant does not move
    local_after = db.execute(read, (local,)).fetchone()
    assert [after - before for after, before in zip(local_after, local_before, strict=True)] == [
        timedelta(hours=3)] * 2
    assert db.execute(read, (fixed,)).fetchone() == fixed_before
    # stored for every session, and audited
    with psycopg.connect(database_url, autocommit=True) as fresh:
        assert one(fresh, "SELECT mockbook_internal.business_timezone()") == "America/Vancouver"
    assert db.execute("SELECT old_value, new_value, changed_by FROM"
                      " hubspot_sync.booking_rule_changes WHERE rule = 'business_timezone'"
                      " ORDER BY id DESC LIMIT 1").fetchone() == (
        "America/Toronto", "America/Vancouver", "ops")


def test_only_an_admin_sets_the_zone(db: psycopg.Connection, zone_restored: None) -> None:
    with pytest.raises(RpcError) as refused:
        rpc(db, "set_business_timezone", p_zone="Europe/London",
            claims={"email": "student@example.com", "sub": str(uuid.uuid4())})
    assert refused.value.code == "FORBIDDEN"
    assert one(db, "SELECT mockbook_internal.business_timezone()") == "America/Toronto"


# --- the instants in what the API returns ----------------------------------------------------

def test_a_booking_and_the_students_list_carry_the_exams_instants_and_zone(
        db: psycopg.Connection) -> None:
    start = db_now(db) + timedelta(days=9)
    exam = make_exam_at(db, start, start + timedelta(hours=2))
    student = make_student(db)
    booking = book(db, student, exam)
    starts_at, ends_at = db.execute(
        "SELECT exam_starts_at, exam_ends_at FROM hubspot_sync.hubspot_mock_exams"
        " WHERE hubspot_id = %s", (exam,)).fetchone()
    assert datetime.fromisoformat(booking["starts_at"]) == starts_at
    assert datetime.fromisoformat(booking["ends_at"]) == ends_at
    assert booking["time_zone"] == "America/Toronto"
    [row] = rpc_rows(db, "list_contact_bookings", p_student_id=student)
    assert (row["starts_at"], row["ends_at"], row["time_zone"]) == (
        starts_at, ends_at, "America/Toronto")


def test_a_zone_the_owner_cannot_store_is_a_clear_error(db: psycopg.Connection,
                                                        zone_restored: None) -> None:
    """ALTER DATABASE needs the database's owner: when the functions' owner is not (here the
    function is handed to a role that owns nothing), the call says what to run instead of
    failing with a raw 42501, and nothing changes."""
    role = sql.Identifier(f"mb_tz_{uuid.uuid4().hex[:8]}")
    fn = sql.SQL("hubspot_sync.set_business_timezone(text, text)")
    db.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(role))
    grants = sql.SQL("USAGE ON SCHEMA hubspot_sync, mockbook_internal")
    db.execute(sql.SQL("GRANT {} TO {}").format(grants, role))
    db.execute(sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA mockbook_internal TO {}").format(
        role))
    owner = one(db, "SELECT pg_get_userbyid(proowner) FROM pg_proc"
                    " WHERE oid = 'hubspot_sync.set_business_timezone(text, text)'::regprocedure")
    db.execute(sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(fn, role))
    try:
        with pytest.raises(RpcError) as refused:
            rpc(db, "set_business_timezone", p_zone="Europe/London", p_actor="test")
    finally:
        db.execute(sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(fn, sql.Identifier(owner)))
        db.execute(sql.SQL("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA mockbook_internal"
                           " FROM {}").format(role))
        db.execute(sql.SQL("REVOKE {} FROM {}").format(grants, role))
        db.execute(sql.SQL("DROP ROLE {}").format(role))
    assert refused.value.code == "FORBIDDEN"
    assert "ALTER DATABASE" in refused.value.hint and "does not own" in refused.value.detail
    assert one(db, "SELECT mockbook_internal.business_timezone()") == "America/Toronto"


def test_a_zone_stored_by_hand_is_read_once_set_business_timezone_names_it(
        db: psycopg.Connection, zone_restored: None) -> None:
    """The documented way round a functions' owner that does not own the database: the owner
    stores the zone with ALTER DATABASE, then set_business_timezone with the same zone compiles
    it in and moves the exams, storing nothing again (the setting's row is not rewritten)."""
    exam = make_exam(db, start="09:00", end="12:00", day=25)
    read = ("SELECT exam_starts_at FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s")
    before = one(db, read, (exam,))
    db.execute(sql.SQL("ALTER DATABASE {} SET mockbook.business_timezone = 'Europe/London'")
               .format(sql.Identifier(db.info.dbname)))
    setting_row = ("SELECT s.xmin::text FROM pg_db_role_setting AS s JOIN pg_database AS d"
                   " ON d.oid = s.setdatabase WHERE d.datname = current_database()"
                   " AND s.setrole = 0")
    stored = one(db, setting_row)
    # not read until compiled in: the rules keep one zone, and the exams' instants agree with it
    assert one(db, "SELECT mockbook_internal.business_timezone()") == "America/Toronto"
    result = rpc(db, "set_business_timezone", p_zone="Europe/London", p_actor="ops")
    assert (result["time_zone"], result["previous_time_zone"]) == ("Europe/London",
                                                                   "America/Toronto")
    assert one(db, setting_row) == stored
    assert one(db, "SELECT mockbook_internal.business_timezone()") == "Europe/London"
    assert one(db, read, (exam,)) - before == timedelta(hours=-5)


def test_a_second_zone_change_at_once_is_busy_and_changes_nothing(
        db: psycopg.Connection, database_url: str, zone_restored: None) -> None:
    """Each change rewrites the setting and the zone's function: the second of two at once is
    refused with BUSY (never a raw 'tuple concurrently updated'), and the first one stands."""
    with psycopg.connect(database_url) as first:
        # the first change, its transaction still open
        first.execute("SELECT set_config('role', 'service_role', true),"
                      " set_config('request.jwt.claims', '{\"role\": \"service_role\"}', true)")
        first.execute("SELECT hubspot_sync.set_business_timezone('Asia/Tokyo', 'first')")
        with pytest.raises(RpcError) as refused:
            rpc(db, "set_business_timezone", p_zone="Europe/London", p_actor="second")
        first.commit()
    assert refused.value.code == "BUSY"
    assert one(db, "SELECT mockbook_internal.business_timezone()") == "Asia/Tokyo"
    assert one(db, "SELECT new_value FROM hubspot_sync.booking_rule_changes"
                   " WHERE rule = 'business_timezone' ORDER BY id DESC LIMIT 1") == "Asia/Tokyo"


@pytest.mark.parametrize("first", ["zone change", "booking"])
def test_a_zone_change_and_a_booking_in_flight_wait_for_each_other(
        db: psycopg.Connection, database_url: str, zone_restored: None, first: str) -> None:
    """The zone change locks every exam after its own lock, a booking takes its exam's seat last:
    whichever holds the exam first, the other waits for its commit (its backend is seen blocked
    by the first one's, pg_blocking_pids) and then succeeds, and the data model's invariants
    hold."""
    exam = make_exam(db, day=12)
    student = make_student(db)
    before = snapshot(db)
    with psycopg.connect(database_url) as holder:
        if first == "zone change":
            holder.execute(SERVICE_KEY)
            holder.execute("SELECT hubspot_sync.set_business_timezone('Asia/Tokyo', 'ops')")
            second = Call(database_url, lambda conn: book(conn, student, exam),
                          setup="SET mockbook.lock_timeout = '60s'")
        else:
            book_in_transaction(holder, student, exam)
            second = Call(database_url, lambda conn: rpc(
                conn, "set_business_timezone", p_zone="Asia/Tokyo", p_actor="ops"),
                setup="SET mockbook.lock_timeout = '60s'")
        second.start()
        wait_until("the second call to wait for the first one's locks",
                   lambda: one(db, "SELECT %s = ANY (pg_blocking_pids(%s))",
                               (holder.info.backend_pid, second.pid)), timeout=30)
        holder.commit()
    second.join()
    assert second.error is None, second.error
    assert second.value["success"] is True
    assert one(db, "SELECT mockbook_internal.business_timezone()") == "Asia/Tokyo"
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (exam,)) == 1
    check_invariants(db, before)


# --- the zone is one fact for every session ---------------------------------------------------

def test_a_connection_opened_before_a_zone_change_reads_the_new_zone(
        db: psycopg.Connection, database_url: str, zone_restored: None) -> None:
    """A pooled connection (PostgREST keeps its pool for hours) opened before the change: its
    session took the database's settings when it opened, yet every call it makes afterwards
    reads the zone as stored now: the day, the instants shown and the local times it writes."""
    with psycopg.connect(database_url, autocommit=True) as pooled:
        student = make_student(pooled)
        before = book(pooled, student, make_exam(pooled, day=20))
        assert before["time_zone"] == "America/Toronto"
        rpc(db, "set_business_timezone", p_zone="Asia/Tokyo", p_actor="ops")
        exam = make_exam(pooled, start="09:00", end="12:00", day=21)  # written by the old session
        after = book(pooled, student, exam)
        assert after["time_zone"] == "Asia/Tokyo"
        starts_at = datetime.fromisoformat(after["starts_at"])
        assert starts_at.astimezone(UTC).hour == 0  # 09:00 in Tokyo is 00:00 UTC
        assert one(pooled, "SELECT hubspot_sync.business_today()") == one(
            pooled, "SELECT (now() AT TIME ZONE 'Asia/Tokyo')::date")
        rows = rpc_rows(pooled, "list_contact_bookings", p_student_id=student)
        assert {row["time_zone"] for row in rows} == {"Asia/Tokyo"}


# Toronto's transitions: the clocks go forward at 02:00 on 2026-03-08 and 2027-03-14, and back
# at 02:00 on 2026-11-01 and 2027-11-07.
@pytest.mark.parametrize(("day", "local", "problem"), [
    ("2026-03-08", "02:30", "does not exist"),
    ("2026-11-01", "01:15", "happens twice"),
    ("2027-03-14", "2:05 AM", "does not exist"),
    ("2027-11-07", "01:59", "happens twice"),
])
def test_a_local_time_the_clocks_skip_or_repeat_is_flagged_never_guessed(
        db: psycopg.Connection, day: str, local: str, problem: str) -> None:
    exam = one(db, "SELECT tests.make_exam(p_exam_date := %s)", (day,))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = %s, end_time = '12:00'"
               " WHERE hubspot_id = %s", (local, exam))
    starts_at, flagged = db.execute(
        "SELECT exam_starts_at, time_problem FROM hubspot_sync.hubspot_mock_exams"
        " WHERE hubspot_id = %s", (exam,)).fetchone()
    assert starts_at is None
    assert flagged.startswith(f"start_time '{local}'") and problem in flagged


@pytest.mark.parametrize(("day", "local", "utc_hour"), [
    ("2026-03-08", "01:59", 6), ("2026-03-08", "03:00", 7),
    ("2026-11-01", "00:59", 4), ("2026-11-01", "02:00", 7),
    ("2027-03-14", "03:30", 7), ("2027-11-07", "02:30", 7),
])
def test_the_hours_around_a_transition_read_once(db: psycopg.Connection, day: str, local: str,
                                                 utc_hour: int) -> None:
    exam = one(db, "SELECT tests.make_exam(p_exam_date := %s)", (day,))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = %s, end_time = NULL"
               " WHERE hubspot_id = %s", (local, exam))
    starts_at, flagged = db.execute(
        "SELECT exam_starts_at, time_problem FROM hubspot_sync.hubspot_mock_exams"
        " WHERE hubspot_id = %s", (exam,)).fetchone()
    assert flagged is None
    assert starts_at.astimezone(UTC).hour == utc_hour


def test_a_booking_is_completed_when_its_exam_ends_not_when_it_starts(
        db: psycopg.Connection) -> None:
    """complete_past_bookings spends nothing on an exam in progress: between the start and the
    end the booking stays Active (a student may still be marked absent or cancelled by an
    admin); past the end it is Completed."""
    start = db_now(db) + timedelta(hours=1)
    exam = make_exam_at(db, start, start + timedelta(hours=3))
    booking = book(db, make_student(db), exam)
    status = ("SELECT is_active FROM hubspot_sync.hubspot_bookings WHERE id = %s")
    try:
        for hours, expected in ((2, "Active"), (5, "Completed")):
            db.execute("SELECT set_config('mockbook.clock_offset', %s, false)",
                       (f"{hours} hours",))
            rpc(db, "complete_past_bookings", p_actor="test")
            assert one(db, status, (booking["id"],)) == expected, hours
    finally:
        db.execute("RESET mockbook.clock_offset")


def test_an_exam_whose_day_is_over_is_past_even_when_its_stored_instants_are_later(
        db: psycopg.Connection) -> None:
    """Times whose instants fall on another day than exam_date (flagged in time_problem): the
    day being over decides, for the booking's common case (the zone handed down) and for every
    other reader of exam_unbookable_reason (the zone read there)."""
    exam = make_exam(db, day=-1)
    start = datetime.now(UTC) + timedelta(hours=3)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = %s, end_time = %s"
               " WHERE hubspot_id = %s", (iso(start), iso(start + timedelta(hours=2)), exam))
    assert one(db, "SELECT exam_ends_at > now() AND time_problem IS NOT NULL"
                   " FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s", (exam,))
    assert one(db, "SELECT mockbook_internal.exam_unbookable_reason(e)"
                   " FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = %s",
               (exam,)) == "EXAM_IN_PAST"
    with pytest.raises(RpcError) as refused:
        book(db, make_student(db), exam)
    assert refused.value.code == "EXAM_IN_PAST"


def test_an_exam_without_a_status_is_not_open(db: psycopg.Connection) -> None:
    """is_active NULL (production's column allows it) is neither true, active nor scheduled,
    whatever its activation time says."""
    exam = make_exam(db)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET is_active = NULL,"
               " scheduled_activation_datetime = now() - interval '1 hour' WHERE hubspot_id = %s",
               (exam,))
    with pytest.raises(RpcError) as refused:
        book(db, make_student(db), exam)
    assert refused.value.code == "EXAM_NOT_ACTIVE"


def test_a_zone_change_is_busy_while_its_documented_lock_is_held(db: psycopg.Connection,
                                                                 database_url: str) -> None:
    """docs/rpc.md, lock order: set_business_timezone takes the advisory lock
    hashtextextended('mockbook:business_timezone', 0) without waiting: held by another
    session, the change answers BUSY and changes nothing."""
    new_exam(db)
    before = table_digests(db)
    zone = one(db, "SELECT mockbook_internal.business_timezone()")
    try:
        with psycopg.connect(database_url) as rival:
            rival.execute("SELECT pg_advisory_xact_lock("
                          "hashtextextended('mockbook:business_timezone', 0))")
            with pytest.raises(RpcError) as busy:
                call(db, "set_business_timezone", None,
                     {"p_zone": "Asia/Tokyo", "p_actor": "test"})
            assert busy.value.code == "BUSY"
            rival.rollback()
        assert one(db, "SELECT mockbook_internal.business_timezone()") == zone
        assert table_digests(db) == before
    finally:
        reset_business_timezone(db)


def test_a_zone_change_gives_an_exam_without_an_end_time_the_end_of_its_day(
        db: psycopg.Connection) -> None:
    """set_business_timezone derives every exam's instants again: an exam without an end time
    ends at the end of its day in the new zone, as the exam trigger writes it."""
    exam = new_exam(db, day=12)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET end_time = NULL"
               " WHERE hubspot_id = %s", (exam,))
    try:
        call(db, "set_business_timezone", None, {"p_zone": "Asia/Tokyo", "p_actor": "test"})
        ends_at, day = db.execute("SELECT exam_ends_at, exam_date FROM"
                                  " hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s",
                                  (exam,)).fetchone()
        assert ends_at == one(db, "SELECT (%s::date + 1)::timestamp AT TIME ZONE 'Asia/Tokyo'",
                              (day,))
    finally:
        reset_business_timezone(db)
