"""The analytics refresh beside the booking RPCs and beside another refresh, with real
connections (these tests guard the analytics refresh).

A refresh holds its locks until its transaction ends. Here a refresh is left open in one
session (as the glue's role, through refresh_analytics()) while other sessions book, cancel,
rebook and refresh again. Every other session runs with lock_timeout and mockbook.lock_timeout
at 100 ms: a lock the open refresh holds and a booking needs would make that call fail (BUSY or
55P03) instead of returning, so the assertions are about outcomes, not durations. Then the
the invariants (tests/py/invariants.py) and the views' numbers after the refresh commits.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from glue_role import glue_url
from invariants import check_invariants, snapshot
from postgrest import rpc

SEATS = 5


@pytest.fixture
def quick(database_url: str) -> Iterator[psycopg.Connection]:
    """An app's connection (autocommit) whose every lock wait gives up after 100 ms."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '100ms'")
        conn.execute("SET mockbook.lock_timeout = '100ms'")
        yield conn


def seed(db: psycopg.Connection, tag: str) -> tuple[str, str, list[str]]:
    """Two open SJ exams and three students with credits; (exam, other exam, students)."""
    exam = db.execute("SELECT tests.make_exam(p_capacity := %s)", (SEATS,)).fetchone()[0]
    other = db.execute("SELECT tests.make_exam(p_capacity := %s)", (SEATS,)).fetchone()[0]
    students = [db.execute("SELECT tests.make_student(p_sj := 2, p_student_id := %s)",
                           (f"AR{tag}{n}",)).fetchone()[0] for n in range(3)]
    return exam, other, students


def book(conn: psycopg.Connection, student: str, exam: str, key: str) -> dict:
    return rpc(conn, "create_booking", p_student_id=student,
               p_email=f"{student.lower()}@example.com", p_mock_exam_id=exam,
               p_idempotency_key=key, p_attending_location="mississauga")


@pytest.mark.parametrize("concurrently", [True, False], ids=["concurrently", "plain"])
def test_an_open_refresh_blocks_no_booking_and_no_second_refresh(
        database_url: str, db: psycopg.Connection, quick: psycopg.Connection,
        concurrently: bool) -> None:
    tag = "C" if concurrently else "P"
    exam, other, students = seed(db, tag)
    db.execute("SELECT mockbook_internal.refresh_analytics()")  # populated: CONCURRENTLY applies
    snap = snapshot(db)
    with psycopg.connect(glue_url(database_url)) as refresher, \
            psycopg.connect(glue_url(database_url), autocommit=True) as second:
        opened = refresher.execute("SELECT mockbook_internal.refresh_analytics(%s)",
                                   (concurrently,)).fetchone()[0]
        assert opened["refreshed"] is True  # and its transaction stays open below

        first = book(quick, students[0], exam, f"ar-{tag}-1")
        book(quick, students[1], exam, f"ar-{tag}-2")
        cancelled = rpc(quick, "cancel_booking", p_booking_id=first["booking_id"])
        third = book(quick, students[2], exam, f"ar-{tag}-3")
        moved = rpc(quick, "rebook", p_booking_id=third["booking_id"], p_new_mock_exam_id=other,
                    p_idempotency_key=f"ar-{tag}-4")
        assert (first["success"], cancelled["success"], moved["success"]) == (True, True, True)

        # a second refresh (cron's `run` beside `refresh-analytics`) gives way, no error
        assert second.execute("SELECT mockbook_internal.refresh_analytics()").fetchone()[0] == {
            "refreshed": False, "reason": "another refresh is running"}
        refresher.commit()

    check_invariants(db, snap)
    again = db.execute("SELECT mockbook_internal.refresh_analytics()").fetchone()[0]
    assert again["refreshed"] is True
    rows = db.execute(
        "SELECT hubspot_id, bookings, active, cancelled FROM hubspot_sync.exam_utilization"
        " WHERE hubspot_id = ANY(%s) ORDER BY hubspot_id", ([exam, other],)).fetchall()
    assert sorted(rows) == sorted([(exam, 3, 1, 2), (other, 1, 1, 0)])
