"""Data the old app really produced is adopted, flagged and listed, never refused.

The original app's duplicate check and capacity check raced (an app-side lock and a count): a
student could hold two Active bookings of one mock type on one day, and an exam more Active
bookings than seats. The constraints' pre-check used to stop the upgrade on the first and say
nothing of the second. Now the later booking of each duplicate group is flagged
(hubspot_bookings.legacy_issue), over-capacity exams are reported, both appear in the dry run
as changes (not refusals), in the adoption report and in `mockbook status`, and new writes obey
the rules: a third booking of that type and day is refused, the full exam takes no booking.
Codes that break the code rule and exam times nothing can read are adopted as they are and
listed the same way; check_invariants() lists all four as legacy_* rows (not violations) while
they last, and `mockbook adoption resolve` cancels the later booking of a pair with its refund.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable

import psycopg
import pytest
from click.testing import CliRunner
from invariants import check_invariants, legacy, snapshot
from postgrest import RpcError, rpc, rpc_rows
from test_adopt_production import load_dump

from glue.cli import cli
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
        '09:00', '12:00', 'Mississauga', 20, 1, 'true', 'A'),
       ('51000000003', 'Someday', 'Situational Judgment', (current_date + 25)::timestamp,
        'TBD', '25:00', 'Mississauga', 20, 2, 'true', 'A'),
       -- the fall-back Sunday in Toronto: 01:15 happens twice that night
       ('51000000004', 'Twice', 'Situational Judgment', '2026-11-01'::timestamp,
        '01:15', '03:00', 'Mississauga', 20, 0, 'true', 'A');
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
        'Clinical Skills', timestamp '2026-01-01 10:03'),
-- codes the old app's import wrote that break the code rule: all digits, markup
       ('65', '4400123', 'OLD5', 'old5@example.com', '90000005', '51000000003', 'Active',
        'Situational Judgment Token', (current_date + 25)::timestamp, 'Situational Judgment',
        timestamp '2026-01-01 10:04'),
       ('66', '<b>SJ-OLD6</b>', 'OLD6', 'old6@example.com', '90000006', '51000000003',
        'Active', 'Situational Judgment Token', (current_date + 25)::timestamp,
        'Situational Judgment', timestamp '2026-01-01 10:05');
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
    kinds = sorted(f["action"].split(" adopted")[0] for f in findings
                   if f["action"].startswith("legacy"))
    assert kinds == ["legacy booking code", "legacy booking code", "legacy duplicate",
                     "legacy exam time", "legacy exam time", "legacy over-capacity exam"], findings

    migrations.upgrade(url, "head")
    assert migrations.current(url) == migrations.head()
    with psycopg.connect(url, autocommit=True) as conn:
        reported = {tuple(r) for r in conn.execute(
            "SELECT action, record_id, new_value FROM hubspot_sync.adoption_report"
            " WHERE action LIKE 'legacy%'")}
        assert reported == predicted
        # check_invariants lists them as legacy, apart from the violations
        assert sorted(kind for kind, _, _ in legacy(conn)) == [
            "legacy_booking_code", "legacy_booking_code", "legacy_duplicate",
            "legacy_exam_time", "legacy_exam_time", "legacy_over_capacity"]
        # a legacy code still names its booking
        [found] = rpc_rows(conn, "get_booking", p_booking_id="<b>SJ-OLD6</b>")
        assert found["student_id"] == "OLD6"
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
        check_invariants(conn, snap)

    with psycopg.connect(url) as conn:   # what mockbook status lists under data_problems
        problems = data_problem_rows(conn)
    assert any("51000000001" in p and "over capacity" in p for p in problems), problems
    assert any("legacy booking code" in p and "4400123" in p for p in problems), problems
    assert any("legacy exam time" in p and "TBD" in p for p in problems), problems
    assert any("legacy exam time" in p and "happens twice" in p for p in problems), problems
    assert any("legacy duplicate" in p and "adoption resolve" in p for p in problems), problems


@pytest.fixture
def adopted_legacy(fresh_database: MakeDatabase) -> str:
    url = fresh_database("adopt_resolve")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, "0001_baseline")
    migrations.upgrade(url, "head")
    return url


def resolve(url: str, *args: str) -> dict:
    done = CliRunner().invoke(cli, ["--json", "adoption", "resolve", *args],
                              env={"DATABASE_URL": url}, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return json.loads(done.output.strip().splitlines()[-1])


def ledger(conn: psycopg.Connection, student: str) -> list[tuple]:
    return conn.execute("SELECT delta, reason, note FROM hubspot_sync.credit_ledger"
                        " WHERE student_id = %s ORDER BY id", (student,)).fetchall()


def test_adoption_resolve_cancels_the_later_duplicate_with_its_refund(
        adopted_legacy: str) -> None:
    url = adopted_legacy
    with psycopg.connect(url, autocommit=True) as conn:
        snap = snapshot(conn)
        before = conn.execute("SELECT cs_credits FROM hubspot_sync.hubspot_contact_credits"
                              " WHERE student_id = 'OLD1'").fetchone()[0]
        # the dry run says what it would do and changes nothing
        dry = resolve(url)
        assert [(d["booking"], d["outcome"]) for d in dry["duplicates"]] == [
            ("Clinical Skills-OLD1-second", "would cancel and refund")]
        assert {r["kind"] for r in dry["other_legacy"]} == {
            "legacy_booking_code", "legacy_exam_time", "legacy_over_capacity"}
        assert ledger(conn, "OLD1") == []
        # applied: the later booking cancelled, its credit back through the ledger
        done = resolve(url, "--apply")
        assert [(d["booking"], d["outcome"]) for d in done["duplicates"]] == [
            ("Clinical Skills-OLD1-second", "cancelled")]
        assert ledger(conn, "OLD1") == [
            (1, "cancellation", "legacy duplicate of Clinical Skills-OLD1-first")]
        assert conn.execute("SELECT cs_credits FROM hubspot_sync.hubspot_contact_credits"
                            " WHERE student_id = 'OLD1'").fetchone()[0] == before + 1
        statuses = dict(conn.execute("SELECT booking_id, is_active FROM"
                                     " hubspot_sync.hubspot_bookings WHERE student_id = 'OLD1'"))
        assert statuses == {"Clinical Skills-OLD1-first": "Active",
                            "Clinical Skills-OLD1-second": "Cancelled"}
        assert "legacy_duplicate" not in {kind for kind, _, _ in legacy(conn)}
        # a second run finds nothing to do, and refunds nothing
        assert resolve(url, "--apply")["duplicates"] == []
        assert len(ledger(conn, "OLD1")) == 1
        check_invariants(conn, snap)


def test_adoption_resolve_racing_the_students_own_cancellation_refunds_once(
        adopted_legacy: str) -> None:
    """The student cancels the flagged booking while an admin resolves: one of the two
    cancels it and refunds the credit once; the other gets its documented answer."""
    url = adopted_legacy
    with psycopg.connect(url, autocommit=True) as conn:
        snap = snapshot(conn)
        barrier = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def student() -> None:
            with psycopg.connect(url, autocommit=True) as own:
                barrier.wait()
                try:
                    outcomes["student"] = rpc(own, "cancel_booking",
                                              p_booking_id="Clinical Skills-OLD1-second",
                                              p_student_id="OLD1")["status"]
                except RpcError as exc:
                    outcomes["student"] = exc.code

        def admin() -> None:
            barrier.wait()
            found = resolve(url, "--apply")["duplicates"]
            outcomes["admin"] = found[0]["outcome"] if found else "nothing left"

        threads = [threading.Thread(target=student), threading.Thread(target=admin)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert (outcomes["student"], outcomes["admin"]) in (
            ("Cancelled", "nothing left"), ("Cancelled", "ALREADY_CANCELLED"),
            ("ALREADY_CANCELLED", "cancelled")), outcomes
        assert [row[:2] for row in ledger(conn, "OLD1")] == [(1, "cancellation")]
        check_invariants(conn, snap)
