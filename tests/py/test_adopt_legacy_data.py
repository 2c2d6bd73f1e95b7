"""Data the old app really produced is adopted, flagged and listed, never refused.

The original app's duplicate check and capacity check raced (an app-side lock and a count): a
student could hold two Active bookings of one mock type on one day, and an exam more Active
bookings than seats. 0004's frozen pre-check used to stop the upgrade on the first and say
nothing of the second. Now the later booking of each duplicate group is flagged
(hubspot_bookings.legacy_issue), over-capacity exams are reported, both appear in the dry run
as changes (not refusals), in the adoption report and in `mockbook status`, and new writes obey
the rules: a third booking of that type and day is refused, the full exam takes no booking.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc
from test_adopt_production import load_dump

from glue.db import adoption, migrations
from glue.db.status import data_problem_rows

MakeDatabase = Callable[[str], str]

SEED = """
INSERT INTO hubspot_sync.hubspot_contact_credits (hubspot_id, student_id, email, firstname,
    lastname, sj_credits, cs_credits, sjmini_credits, mock_discussion_token, shared_mock_credits)
SELECT (90000000 + g)::text, 'OLD' || g, 'old' || g || '@example.com', 'F', 'L', 3, 3, 0, 0, 0
FROM generate_series(1, 6) AS g;
INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_exam_name, mock_type, exam_date,
    start_time, end_time, location, capacity, total_bookings, is_active, mock_set)
VALUES ('51000000001', 'Tiny', 'Clinical Skills', (current_date + 20)::timestamp,
        '2026-12-20T14:00:00.000Z', '2026-12-20T17:00:00.000Z', 'Mississauga', 2, 2, 'true', 'A'),
       ('51000000002', 'Other', 'Clinical Skills', (current_date + 20)::timestamp,
        '09:00', '12:00', 'Mississauga', 20, 1, 'true', 'A');
-- the old app's race: three Active on two seats, and OLD1 twice on one type and day
INSERT INTO hubspot_sync.hubspot_bookings (hubspot_id, booking_id, student_id, student_email,
    associated_contact_id, associated_mock_exam, is_active, token_used, exam_date, mock_type,
    created_at)
VALUES ('61', 'Clinical Skills-OLD1-first', 'OLD1', 'old1@example.com', '90000001',
        '51000000001', 'Active', 'Clinical Skills Token', (current_date + 20)::timestamp,
        'Clinical Skills', timestamp '2026-01-01 10:00'),
       ('62', 'Clinical Skills-OLD2-x', 'OLD2', 'old2@example.com', '90000002',
        '51000000001', 'Active', 'Clinical Skills Token', (current_date + 20)::timestamp,
        'Clinical Skills', timestamp '2026-01-01 10:01'),
       ('63', 'Clinical Skills-OLD3-x', 'OLD3', 'old3@example.com', '90000003',
        '51000000001', 'Active', 'Clinical Skills Token', (current_date + 20)::timestamp,
        'Clinical Skills', timestamp '2026-01-01 10:02'),
       ('64', 'Clinical Skills-OLD1-second', 'OLD1', 'old1@example.com', '90000001',
        '51000000002', 'Active', 'Clinical Skills Token', (current_date + 20)::timestamp,
        'Clinical Skills', timestamp '2026-01-01 10:03');
"""


def test_duplicates_and_over_capacity_are_adopted_flagged_and_listed(
        fresh_database: MakeDatabase) -> None:
    url = fresh_database("adopt_legacy")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, "0001_baseline")

    with psycopg.connect(url) as conn:
        findings = adoption.check(conn)
    assert [f for f in findings if f["kind"] == "refuse"] == []
    predicted = {(f["action"], f["record_id"], f["new_value"]) for f in findings
                 if f["action"].startswith("legacy")}
    assert len(predicted) == 2, findings

    migrations.upgrade(url, "head")
    assert migrations.current(url) == migrations.head()
    with psycopg.connect(url, autocommit=True) as conn:
        reported = {tuple(r) for r in conn.execute(
            "SELECT action, record_id, new_value FROM hubspot_sync.adoption_report"
            " WHERE action LIKE 'legacy%'")}
        assert reported == predicted
        flagged = conn.execute("SELECT booking_id, student_id, legacy_issue, is_active FROM"
                               " hubspot_sync.hubspot_bookings WHERE legacy_issue IS NOT NULL"
                               ).fetchall()
        assert flagged == [("Clinical Skills-OLD1-second", "OLD1",
                            "duplicate of Clinical Skills-OLD1-first", "Active")]
        snap = snapshot(conn)
        # new writes obey the rules: no third booking of that day, no seat on the full exam
        for student, exam, code in (("OLD1", "51000000002", "DUPLICATE_BOOKING"),
                                    ("OLD4", "51000000001", "EXAM_FULL")):
            try:
                rpc(conn, "create_booking", p_student_id=student,
                    p_email=f"{student.lower()}@example.com", p_mock_exam_id=exam,
                    p_idempotency_key=f"legacy-{uuid.uuid4()}", p_dominant_hand="right")
                raise AssertionError(f"{student} booked {exam}")
            except RpcError as exc:
                assert exc.code == code, exc
        # resolving the pair: an admin cancels the later booking, refunded through the ledger
        rpc(conn, "cancel_booking", p_booking_id="Clinical Skills-OLD1-second",
            p_actor="admin:dba")
        check_invariants(conn, snap)

    with psycopg.connect(url) as conn:   # what mockbook status lists under data_problems
        problems = data_problem_rows(conn)
    assert any("51000000001" in p and "over capacity" in p for p in problems), problems
