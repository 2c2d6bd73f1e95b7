"""hubspot_sync.request_refresh: who may ask for what, one waiting request per record, and the
limit per caller, on real connections racing each other and the worker's claims
(glue.sync.refresh reads the records; tests/py/sync/test_refresh.py)."""

from __future__ import annotations

import uuid
from collections import Counter

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc
from psycopg.types.json import Jsonb
from test_concurrency import (
    book,
    connection_budget,
    email,
    make_exams,
    make_students,
    run_concurrently,
    undocumented,
)

ADMIN = {"sub": "admin-1", "email": "dean@school.ca", "app_metadata": {"role": "admin"}}


def student_claims(student: str) -> dict[str, str]:
    return {"sub": str(uuid.uuid5(uuid.NAMESPACE_DNS, student)), "email": email(student)}


def waiting(db: psycopg.Connection, kind: str, key: str) -> int:
    return db.execute("SELECT count(*) FROM hubspot_sync.refresh_requests WHERE record_type = %s"
                      " AND record_key = %s AND outcome IS NULL", (kind, key)).fetchone()[0]


def test_a_student_may_ask_for_their_own_record_and_any_exam(db: psycopg.Connection) -> None:
    mine, theirs = make_students(db, 2, p_sj=1)
    (exam,) = make_exams(db, 1)
    their_booking = book(theirs, exam)(db)["booking_id"]
    me = student_claims(mine)
    asked = rpc(db, "request_refresh", p_student_id=mine, claims=me)
    assert (asked["record_type"], asked["topic"]) == ("student", f"mockbook:student:{email(mine)}")
    assert rpc(db, "request_refresh", p_mock_exam_id=exam, claims=me)["status"] == "waiting"
    with pytest.raises(RpcError) as other:
        rpc(db, "request_refresh", p_student_id=theirs, claims=me)
    assert other.value.code == "FORBIDDEN"
    with pytest.raises(RpcError) as not_there:  # not yours = not there
        rpc(db, "request_refresh", p_booking_id=their_booking, claims=me)
    assert not_there.value.code == "BOOKING_NOT_FOUND"
    assert rpc(db, "request_refresh", p_booking_id=their_booking)["record_type"] == "booking"
    with pytest.raises(RpcError) as nobody:
        rpc(db, "request_refresh", p_student_id="NOSUCH1")
    assert nobody.value.code == "CONTACT_NOT_FOUND"


def test_ten_a_minute_per_caller_and_a_waiting_record_costs_nothing(
        db: psycopg.Connection) -> None:
    exams = make_exams(db, 11)
    caller = {"sub": "limit-1", "email": "limit@school.ca", "app_metadata": {"role": "admin"}}
    for exam in exams[:10]:
        assert not rpc(db, "request_refresh", p_mock_exam_id=exam, claims=caller)[
            "already_waiting"]
    again = rpc(db, "request_refresh", p_mock_exam_id=exams[0], claims=caller)
    assert again["already_waiting"] and again["status"] == "waiting"
    with pytest.raises(RpcError) as limited:
        rpc(db, "request_refresh", p_mock_exam_id=exams[10], claims=caller)
    assert (limited.value.code, limited.value.sqlstate, limited.value.status) == (
        "REFRESH_LIMIT_REACHED", "PT429", 429)
    # another caller, and the minute after, may
    assert rpc(db, "request_refresh", p_mock_exam_id=exams[10], claims=ADMIN)["status"] == \
        "waiting"
    db.execute("UPDATE hubspot_sync.refresh_requests SET requested_at = requested_at"
               " - interval '61 seconds' WHERE requested_by = 'admin:limit@school.ca'")
    assert rpc(db, "request_refresh", p_mock_exam_id=exams[10], claims=caller)["already_waiting"]


def test_racing_callers_and_claims_keep_one_waiting_request_and_the_limit(
        db: psycopg.Connection, database_url: str) -> None:
    """Forty requests of one caller for forty exams at once: the caller's refresh lock makes
    them count one after the other, so exactly ten pass. Twenty callers asking for one exam at
    once: one waiting request, the others told it waits (its unique index, the insert answered).
    Bookings of those exams and the worker's claims and outcomes run among them: only
    documented answers, and the invariants hold."""
    exams = make_exams(db, 40, capacity=100)
    (hot,) = make_exams(db, 1)
    students = make_students(db, 20, p_sj=1)
    snap = snapshot(db)
    one_caller = {"sub": "race-1", "email": "race@school.ca"}
    tasks = [lambda conn, e=e: rpc(conn, "request_refresh", p_mock_exam_id=e, claims=one_caller)
             for e in exams]
    tasks += [lambda conn, n=n: rpc(conn, "request_refresh", p_mock_exam_id=hot,
                                    claims={"sub": f"r-{n}", "email": f"r{n}@school.ca"})
              for n in range(20)]
    tasks += [book(s, exams[i]) for i, s in enumerate(students)]

    def claim_and_finish(conn: psycopg.Connection) -> int:
        claimed = conn.execute(
            "SELECT id FROM mockbook_internal.claim_refresh_requests('race-worker', 5, 60)"
            " WHERE record_key <> %s", (hot,)).fetchall()
        return conn.execute(
            "SELECT mockbook_internal.finish_refresh_requests('race-worker', %s::jsonb)",
            (Jsonb([{"id": i, "outcome": "applied", "detail": None}
                                       for (i,) in claimed]),)).fetchone()[0]
    for n in range(6):  # the worker's claims, among the requests
        tasks.insert(n * 12, claim_and_finish)
    outcomes = run_concurrently(database_url, tasks, connection_budget(db, 30))
    limited = [o for o in outcomes if o.code == "REFRESH_LIMIT_REACHED"
               and o.error.sqlstate == "PT429"]
    assert undocumented([o for o in outcomes if o not in limited]) == []
    codes = Counter(o.code for o in outcomes if o.error)
    assert codes == {"REFRESH_LIMIT_REACHED": 30}
    hot_answers = [o.value for o in outcomes
                   if isinstance(o.value, dict) and o.value.get("record_key") == hot]
    assert len(hot_answers) == 20
    assert len({a["request_id"] for a in hot_answers}) == 1
    assert sum(not a["already_waiting"] for a in hot_answers) == 1
    assert waiting(db, "exam", hot) == 1
    check_invariants(db, snap)
