"""rebook: its replays (stored result, purged result), what the new booking carries over from
the old one and its contact, and the checks of the new exam.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from booking_calls import book, new_exam, one, students
from postgrest import RpcError, rpc
from test_who_acts import call, claims_of, scenario


def test_a_rebook_replayed_after_its_stored_result_is_purged_is_rebuilt(
        db: psycopg.Connection) -> None:
    """rebook's contract: a replay answers the first result, past the retention rebuilt from
    the rows (never NULL)."""
    s = scenario(db)
    key = f"edge-rebook-{s.s0}"
    args = {"p_booking_id": s.booking, "p_new_mock_exam_id": s.e2, "p_idempotency_key": key}
    first = call(db, "rebook", None, args)
    db.execute("DELETE FROM hubspot_sync.idempotency_results WHERE idempotency_key = %s", (key,))
    again = call(db, "rebook", None, args)
    assert again is not None and again["idempotent_replay"] is True
    assert (again["id"], again["rebooked_from"]["id"]) == (first["id"],
                                                          first["rebooked_from"]["id"])


def test_a_booking_without_a_status_is_named_so_when_it_cannot_be_rebooked(
        db: psycopg.Connection) -> None:
    """An adopted booking may have no status (is_active NULL): rebook refuses it, and the
    message says so instead of leaving a blank."""
    s = scenario(db)
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET is_active = NULL"
               " WHERE booking_id = %s", (s.booking,))
    with pytest.raises(RpcError) as refused:
        call(db, "rebook", None, {"p_booking_id": s.booking, "p_new_mock_exam_id": s.e2,
                                  "p_idempotency_key": f"edge-{uuid.uuid4()}"})
    assert refused.value.code == "REBOOK_NOT_ALLOWED"
    assert "is without status; only Active bookings" in refused.value.detail


def test_a_rebook_keeps_the_contacts_hubspot_id_its_contact_does_not_have_yet(
        db: psycopg.Connection) -> None:
    """A rebook copies the contact's HubSpot id to the new booking, and where the contact has
    none (not pushed yet, an adopted row) the one the old booking carried, never NULL."""
    s = scenario(db)
    carried = one(db, "SELECT associated_contact_id FROM hubspot_sync.hubspot_bookings"
                      " WHERE booking_id = %s", (s.booking,))
    assert carried is not None
    db.execute("UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = NULL"
               " WHERE student_id = %s", (s.s0,))
    moved = call(db, "rebook", None, {"p_booking_id": s.booking, "p_new_mock_exam_id": s.e2,
                                      "p_idempotency_key": f"edge-{uuid.uuid4()}"})
    assert one(db, "SELECT associated_contact_id FROM hubspot_sync.hubspot_bookings"
                   " WHERE id = %s", (moved["id"],)) == carried


def test_a_rebook_of_a_booking_whose_contact_is_gone_checks_its_students_bookings(
        db: psycopg.Connection) -> None:
    """Adopted bookings of a student with no contact row can still be moved by an admin; the
    new exam's checks read the booking's own student: a prerequisite that student holds is
    met."""
    ghost = f"GONE{uuid.uuid4().hex[:8].upper()}"
    first, origin, target = (new_exam(db, day=day) for day in (8, 9, 10))
    for exam in (first, origin):
        db.execute(
            "INSERT INTO hubspot_sync.hubspot_bookings (id, booking_id, student_id,"
            " student_email, mock_type, exam_date, start_time, end_time, is_active,"
            " associated_mock_exam, attending_location)"
            " SELECT gen_random_uuid(), %s, %s, lower(%s) || '@example.com', e.mock_type,"
            " e.exam_date, e.start_time, e.end_time, 'Active', e.hubspot_id, 'mississauga'"
            " FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = %s",
            (f"{exam}-{ghost}", ghost, ghost, exam))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET prerequisite_exam_ids = ARRAY[%s]"
               " WHERE hubspot_id = %s", (first, target))
    moved = call(db, "rebook", None, {"p_booking_id": f"{origin}-{ghost}",
                                      "p_new_mock_exam_id": target,
                                      "p_idempotency_key": f"edge-{uuid.uuid4()}"})
    assert moved["mock_exam_id"] == target


def test_a_rebook_keeps_the_old_bookings_ndecc_date_when_the_contact_has_none(
        db: psycopg.Connection) -> None:
    (student,) = students(db, 1)
    seat = book(db, student, new_exam(db))
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET ndecc_exam_date = '2027-06-01'"
               " WHERE id = %s", (seat["id"],))
    moved = call(db, "rebook", None, {"p_booking_id": seat["booking_id"],
                                      "p_new_mock_exam_id": new_exam(db, day=11),
                                      "p_idempotency_key": f"edge-{uuid.uuid4()}"})
    assert one(db, "SELECT ndecc_exam_date FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (moved["id"],)) == "2027-06-01"


def test_a_rebook_replayed_answers_its_first_result_not_todays_rows(
        db: psycopg.Connection) -> None:
    """rebook stores its result under its key: a replay answers it as it was, though the old
    exam's count has moved since (a booking of it by someone else)."""
    s = scenario(db)
    args = {"p_booking_id": s.booking, "p_new_mock_exam_id": s.e2,
            "p_idempotency_key": f"edge-rebook-{s.s0}"}
    first = call(db, "rebook", None, args)
    book(db, s.s1, s.e)                  # the old exam's count moves on
    again = call(db, "rebook", None, args)
    assert again["idempotent_replay"] is True
    assert again["previous_exam_total_bookings"] == first["previous_exam_total_bookings"]
    assert one(db, "SELECT tests.total(%s)", (s.e,)) == first["previous_exam_total_bookings"] + 1


def test_a_students_rebook_is_no_time_conflict_with_the_booking_it_replaces(
        db: psycopg.Connection) -> None:
    """time_conflict on: a student moving a booking to an exam that overlaps the one it leaves
    is not refused for overlapping itself."""
    saved = one(db, "SELECT value FROM hubspot_sync.booking_rules WHERE rule = 'time_conflict'")
    first, moved = new_exam(db), new_exam(db)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = '10:00',"
               " end_time = '13:00' WHERE hubspot_id = %s", (moved,))  # 09:00-12:00 left
    student = students(db, 1)[0]
    made = book(db, student, first)
    rpc(db, "set_booking_rule", p_rule="time_conflict", p_value=True, p_actor="test")
    try:
        done = call(db, "rebook", claims_of(student), {
            "p_booking_id": made["booking_id"], "p_new_mock_exam_id": moved,
            "p_idempotency_key": f"edge-{uuid.uuid4()}"})
    finally:
        rpc(db, "set_booking_rule", p_rule="time_conflict", p_value=saved, p_actor="test")
    assert done["success"] is True and done["rebooked_from"]["id"] == made["id"]
