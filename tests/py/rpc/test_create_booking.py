"""create_booking (and admin_create_booking, its admin form through the same pipeline): the
arguments it names, the duplicate it names, an exam stored without a count or a date, a replay,
and the waitlist places and offers a booking closes.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from booking_calls import book, email_of, join, new_exam, one, students
from invariants import table_digests
from postgrest import RpcError
from test_who_acts import call


def test_a_duplicate_without_a_code_is_named_as_such(db: psycopg.Connection) -> None:
    """A booking adopted from before mockbook may have no code: the DUPLICATE_BOOKING it
    causes says "(no code)", not an empty name."""
    student = one(db, "SELECT tests.make_student(p_sj := 3)")
    first, second = (one(db, "SELECT tests.make_exam(p_exam_date := hubspot_sync.business_today()"
                             " + 9)") for _ in "ab")
    with db.transaction():  # as the adoption stored it, past the code trigger
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute("INSERT INTO hubspot_sync.hubspot_bookings (student_id, associated_mock_exam,"
                   " is_active, mock_type, exam_date) SELECT %s, e.hubspot_id, 'Active',"
                   " e.mock_type, e.exam_date FROM hubspot_sync.hubspot_mock_exams AS e"
                   " WHERE e.hubspot_id = %s", (student, first))
    with pytest.raises(RpcError) as refused:
        call(db, "create_booking", None, {
            "p_student_id": student, "p_email": one(db, "SELECT tests.email_of(%s)", (student,)),
            "p_mock_exam_id": second, "p_idempotency_key": f"edge-{student}",
            "p_attending_location": "mississauga"})
    assert refused.value.code == "DUPLICATE_BOOKING"
    assert "(no code)" in refused.value.detail


@pytest.mark.parametrize("length", [100, 101])
def test_a_booking_code_takes_100_characters_and_refuses_101(db: psycopg.Connection,
                                                             length: int) -> None:
    """create_booking's p_booking_id: a code is 3 to 100 characters (docs/rpc.md)."""
    (student,) = students(db, 1)
    code = "C" * length
    args = {"p_student_id": student, "p_email": email_of(db, student),
            "p_mock_exam_id": new_exam(db), "p_idempotency_key": f"edge-{uuid.uuid4()}",
            "p_attending_location": "mississauga", "p_booking_id": code}
    if length > 100:
        before = table_digests(db)
        with pytest.raises(RpcError) as refused:
            call(db, "create_booking", None, args)
        assert refused.value.code == "INVALID_ARGUMENT"
        assert "101 characters" in refused.value.detail
        assert table_digests(db) == before
        return
    assert call(db, "create_booking", None, args)["booking_id"] == code


def test_a_duplicate_names_the_students_own_booking_before_a_flagged_legacy_one(
        db: psycopg.Connection) -> None:
    """DUPLICATE_BOOKING names the other booking of the type and day: the student's own one
    (legacy_issue NULL) before an adopted duplicate flagged at adoption, whichever came first."""
    (student,) = students(db, 1)
    flagged = book(db, student, new_exam(db, day=9))
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET legacy_issue = 'duplicate'"
               " WHERE id = %s", (flagged["id"],))
    own = f"OWN-{uuid.uuid4().hex[:8]}"
    db.execute("INSERT INTO hubspot_sync.hubspot_bookings (id, booking_id, student_id,"
               " student_email, mock_type, exam_date, is_active, associated_mock_exam)"
               " SELECT gen_random_uuid(), %s, student_id, student_email, mock_type, exam_date,"
               " 'Active', associated_mock_exam FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (own, flagged["id"]))
    with pytest.raises(RpcError) as refused:
        book(db, student, new_exam(db, day=9))
    assert refused.value.code == "DUPLICATE_BOOKING"
    assert f"booking {own} of type" in refused.value.detail


def test_a_booking_code_with_a_wrong_mock_set_is_refused_for_the_mock_set(
        db: psycopg.Connection) -> None:
    """create_booking names the argument at fault: a call with a good booking code and a mock
    set outside A-H is refused for p_mock_set, not for its code."""
    (student,) = students(db, 1)
    with pytest.raises(RpcError) as refused:
        call(db, "create_booking", None, {
            "p_student_id": student, "p_email": email_of(db, student),
            "p_mock_exam_id": new_exam(db), "p_idempotency_key": f"edge-{uuid.uuid4()}",
            "p_attending_location": "mississauga", "p_booking_id": "CODE-123",
            "p_mock_set": "Z"})
    assert refused.value.code == "INVALID_ARGUMENT"
    assert "p_mock_set" in refused.value.detail


def test_a_booking_on_an_exam_without_a_count_counts_from_none(db: psycopg.Connection) -> None:
    """An adopted exam row may have no total_bookings: its first booking makes it 1."""
    exam = new_exam(db, capacity=3)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = NULL"
               " WHERE hubspot_id = %s", (exam,))
    (student,) = students(db, 1)
    assert book(db, student, exam)["total_bookings"] == 1
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (exam,)) == 1


def test_a_booking_closes_the_students_places_that_day_when_no_one_else_waits(
        db: psycopg.Connection) -> None:
    """The booking's gate to close_day_places asks whether this student has an open place,
    whoever else waits: with no other place open anywhere, the student's place on another exam
    of the type and day is left all the same."""
    full, other = new_exam(db, capacity=1, day=14), new_exam(db, day=14)
    holder, student = students(db, 2)
    book(db, holder, full)
    db.execute("UPDATE hubspot_sync.waitlist_entries SET status = 'left', resolved_at = now()"
               " WHERE status IN ('waiting', 'offered')")   # the module's other tests' places
    join(db, student, full)
    book(db, student, other)
    assert one(db, "SELECT status FROM hubspot_sync.waitlist_entries WHERE student_id = %s",
               (student,)) == "left"


def test_an_exam_without_a_date_took_place_on_no_date(db: psycopg.Connection) -> None:
    exam = new_exam(db)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET exam_date = NULL, start_time = NULL,"
               " end_time = NULL WHERE hubspot_id = %s", (exam,))
    with pytest.raises(RpcError) as refused:
        book(db, students(db, 1)[0], exam)
    assert refused.value.code == "EXAM_IN_PAST" and "on no date" in refused.value.detail


def test_a_replay_of_a_booking_whose_copy_differs_shows_the_copys_times(
        db: psycopg.Connection) -> None:
    """A booking's result carries the exam's instants while the booking copies its times; a
    copy that differs (an adopted row without an end time) is read on its own: it ends at the
    end of its day."""
    (student,) = students(db, 1)
    exam = new_exam(db)
    args = {"p_student_id": student, "p_email": email_of(db, student), "p_mock_exam_id": exam,
            "p_idempotency_key": f"edge-{uuid.uuid4()}", "p_attending_location": "mississauga"}
    first = call(db, "create_booking", None, args)
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET end_time = NULL WHERE id = %s",
               (first["id"],))
    again = call(db, "create_booking", None, args)
    day_end = one(db, "SELECT ((%s::date + 1)::timestamp AT TIME ZONE 'America/Toronto')::text",
                  (first["exam_date"],))
    assert again["idempotent_replay"] and again["starts_at"] == first["starts_at"]
    assert one(db, "SELECT %s::timestamptz = %s::timestamptz", (again["ends_at"], day_end))


def test_offers_a_booking_closes_on_two_exams_are_offered_on_at_once(
        db: psycopg.Connection) -> None:
    """A student holding offers on two exams books a third of the same type and day: both
    offers are left, and each exam's seat goes to its next waiting student in the same call."""
    held, also_held, other = new_exam(db, capacity=1), new_exam(db, capacity=1), new_exam(db)
    offered, *rest = students(db, 5)
    for exam, (first, nxt) in ((held, rest[:2]), (also_held, rest[2:])):
        seat = book(db, first, exam)
        join(db, offered, exam)
        join(db, nxt, exam)
        call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # for offered
    book(db, offered, other)
    statuses = db.execute("SELECT mock_exam_id, student_id, status"
                          " FROM hubspot_sync.waitlist_entries WHERE mock_exam_id IN (%s, %s)",
                          (held, also_held)).fetchall()
    assert sorted(statuses) == sorted([(held, offered, "left"), (held, rest[1], "offered"),
                                       (also_held, offered, "left"),
                                       (also_held, rest[3], "offered")]), statuses


def test_an_admin_booking_on_an_exam_without_a_capacity_says_it_is_over_capacity(
        db: psycopg.Connection) -> None:
    """admin_create_booking with p_override_capacity books an exam without a capacity (no
    seats) and says the booking is over it, as mark_attendance's report does."""
    exam = new_exam(db)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL"
               " WHERE hubspot_id = %s", (exam,))
    (student,) = students(db, 1)
    result = call(db, "admin_create_booking", None, {
        "p_student_id": student, "p_email": one(db, "SELECT tests.email_of(%s)", (student,)),
        "p_mock_exam_id": exam, "p_idempotency_key": f"edge-{uuid.uuid4()}",
        "p_attending_location": "mississauga", "p_actor": "test", "p_override_capacity": True})
    assert result["total_bookings"] == 1
    assert result["over_capacity"] is True
