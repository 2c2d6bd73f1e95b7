"""`mockbook demo` and the smoke test of the embedded PostgreSQL path
(the CI contract: migrate, book, sync to the sandbox), at the small scale
(MOCKBOOK_DEMO_SCALE=small).

What these prove beyond "it runs": the demo's own checks pass AND the database agrees when read
independently (every exam's total_bookings = its Active bookings, no exam over capacity, every
booking pushed carries a HubSpot id); a second run resets exactly the demo's rows (same counts,
no duplicates); rows that are not the demo's — a student, an exam, a booking with its ledger,
audit and outbox rows — are byte-for-byte the same after two runs; and a database with pending
outbox rows of other records makes the demo skip its push instead of sending them to its
sandbox (they stay pending, untouched).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from glue.demo.data import DEMO_ID_RANGE

MOCKBOOK = shutil.which("mockbook", path=os.path.dirname(sys.executable)) or "mockbook"
SMALL = {"students": 400, "exams": 8}  # glue.demo.data.SCALES["small"]


def run_mockbook(*args: str, database_url: str | None = None, **env: str
                 ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base["MOCKBOOK_DEMO_SCALE"] = "small"
    if database_url:
        base["DATABASE_URL"] = database_url
    return subprocess.run([MOCKBOOK, *args], capture_output=True, text=True, timeout=300,
                          env={**base, **env})


def rows(url: str, query: str, params: Any = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def text(result: subprocess.CompletedProcess[str]) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.stdout.split())


def assert_demo_passed(result: subprocess.CompletedProcess[str], *, pushed: bool = True) -> None:
    out = text(result)
    assert result.returncode == 0, out[-3000:] + result.stderr
    assert "Traceback" not in out + result.stderr
    assert "capacity check: PASSED" in out
    assert "credit check: PASSED" in out
    # the messages the rush's calls sent (docs/apps.md, Live pages), through the demo's stand-in
    assert "live pages check: PASSED" in out and "seats messages of the rush's exams" in out
    assert ("push check: PASSED" in out) is pushed
    assert "FAILED" not in out and "OVER" not in out and "unexpected error" not in out
    assert "every check passed" in out


def assert_invariants(url: str) -> None:
    """Read from the tables, not from the demo's output: the data model as the database checks it
    (mockbook_internal.check_invariants), and no exam over its capacity; the demo's stand-in
    for Supabase Realtime is gone, and broadcasts with it."""
    assert rows(url, "SELECT * FROM mockbook_internal.check_invariants()") == []
    assert rows(url, "SELECT to_regnamespace('realtime') IS NULL AS gone")[0]["gone"]
    assert rows(url, "SELECT mockbook_internal.realtime_state() ->> 'broadcasts' AS b")[0]["b"] \
        == "off"
    over = rows(url, """
        SELECT e.hubspot_id, e.capacity, e.total_bookings
        FROM hubspot_sync.hubspot_mock_exams e
        WHERE e.total_bookings > e.capacity""")
    assert over == []


def demo_counts(url: str) -> dict[str, int]:
    return rows(url, """
        SELECT (SELECT count(*) FROM hubspot_sync.hubspot_contact_credits
                WHERE student_id LIKE 'DEMO%') AS students,
               (SELECT count(*) FROM hubspot_sync.hubspot_mock_exams
                WHERE mock_exam_name LIKE '[demo] %') AS exams,
               (SELECT count(*) FROM hubspot_sync.hubspot_bookings
                WHERE student_id LIKE 'DEMO%') AS bookings,
               (SELECT count(*) FROM hubspot_sync.hubspot_bookings
                WHERE student_id LIKE 'DEMO%' AND hubspot_id IS NULL) AS without_hubspot_id,
               (SELECT count(*) FROM hubspot_sync.credit_ledger
                WHERE student_id LIKE 'DEMO%') AS ledger""")[0]


# ---- rows that are not the demo's ---------------------------------------------------------------
def add_other_rows(url: str) -> None:
    """An exam, a student and a booking of the real world, already pushed (outbox rows done,
    HubSpot ids written back as the push does)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("""
            INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_exam_name, mock_type,
                exam_date, start_time, end_time, location, capacity, total_bookings, is_active)
            VALUES ('REAL-EXAM-1', 'Situational Judgment (real)', 'Situational Judgment',
                    hubspot_sync.business_today() + 12, '09:00', '12:00', 'calgary', 5, 0, 'true')
        """)
        conn.execute("""
            INSERT INTO hubspot_sync.hubspot_contact_credits (hubspot_id, student_id, email,
                firstname, lastname, sj_credits)
            VALUES ('REAL-CONTACT-1', 'REAL0001', 'real0001@example.com', 'Real', 'Student', 2)
        """)
        conn.execute("""
            SELECT hubspot_sync.create_booking(p_student_id := 'REAL0001',
                p_email := 'real0001@example.com', p_mock_exam_id := 'REAL-EXAM-1',
                p_idempotency_key := 'real-key-1', p_attending_location := 'calgary')""")
        with conn.transaction():
            conn.execute("SET LOCAL mockbook.origin = 'sync'")
            conn.execute("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = 'REAL-BOOKING-1'"
                         " WHERE student_id = 'REAL0001'")
            conn.execute("UPDATE hubspot_sync.sync_queue SET done_at = now()")


def other_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Everything about the non-demo rows, for a before/after comparison."""
    return {
        "exams": rows(url, "SELECT * FROM hubspot_sync.hubspot_mock_exams "
                           "WHERE mock_exam_name NOT LIKE '[demo] %' ORDER BY id"),
        "contacts": rows(url, "SELECT * FROM hubspot_sync.hubspot_contact_credits "
                              "WHERE student_id NOT LIKE 'DEMO%' ORDER BY id"),
        "bookings": rows(url, "SELECT * FROM hubspot_sync.hubspot_bookings "
                              "WHERE student_id NOT LIKE 'DEMO%' ORDER BY id"),
        "ledger": rows(url, "SELECT * FROM hubspot_sync.credit_ledger "
                            "WHERE student_id NOT LIKE 'DEMO%' ORDER BY id"),
        "audit": rows(url, "SELECT a.* FROM hubspot_sync.supabase_audit_log a "
                           "WHERE a.record_id IN (SELECT id FROM hubspot_sync.hubspot_bookings "
                           "WHERE student_id = 'REAL0001' UNION ALL SELECT id FROM "
                           "hubspot_sync.hubspot_contact_credits WHERE student_id = 'REAL0001' "
                           "UNION ALL SELECT id FROM hubspot_sync.hubspot_mock_exams "
                           "WHERE hubspot_id = 'REAL-EXAM-1') ORDER BY a.id"),
        "outbox": rows(url, "SELECT * FROM hubspot_sync.sync_queue q WHERE q.record_id IN ("
                            "SELECT id FROM hubspot_sync.hubspot_bookings WHERE student_id = "
                            "'REAL0001' UNION ALL SELECT id FROM "
                            "hubspot_sync.hubspot_contact_credits WHERE student_id = 'REAL0001' "
                            "UNION ALL SELECT id FROM hubspot_sync.hubspot_mock_exams "
                            "WHERE hubspot_id = 'REAL-EXAM-1') ORDER BY q.id"),
    }


# -------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_demo_three_runs_touch_only_demo_rows(make_database) -> None:
    """Run 1 on an empty database (the demo migrates it); run 2 after rows of the real world
    were added (they survive, identical); run 3 with one of them waiting in the outbox (the
    demo's push would claim it and send it to its sandbox, marking it done: lost for the real
    HubSpot; the demo skips its push instead and the row stays pending, untouched)."""
    url = make_database("demo")

    first = run_mockbook("demo", database_url=url)
    assert_demo_passed(first)
    assert_invariants(url)
    counts = demo_counts(url)
    assert counts["students"] == SMALL["students"] and counts["exams"] == SMALL["exams"]
    assert counts["bookings"] > 100 and counts["without_hubspot_id"] == 0
    assert rows(url, "SELECT count(*) AS n FROM hubspot_sync.sync_queue "
                     "WHERE done_at IS NULL")[0]["n"] == 0
    # The demo's HubSpot ids come from its own range, never `mockbook sandbox`'s (10,001 on).
    low, high = DEMO_ID_RANGE
    for table in ("hubspot_contact_credits", "hubspot_mock_exams", "hubspot_bookings"):
        ids = [int(r["hubspot_id"]) for r in rows(
            url, f"SELECT hubspot_id FROM hubspot_sync.{table} WHERE hubspot_id IS NOT NULL")]
        assert ids and all(low <= i <= high for i in ids), table
    # `mockbook status` reads the demo's push where the demo records it (not "never").
    status = run_mockbook("status", "--json", database_url=url)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["last_push_at"] is not None

    add_other_rows(url)
    before = other_rows(url)
    assert len(before["bookings"]) == 1 and len(before["ledger"]) == 1
    assert len(before["audit"]) >= 3 and len(before["outbox"]) >= 3
    second = run_mockbook("demo", database_url=url)
    assert_demo_passed(second)
    assert "reset the previous demo" in text(second)
    assert_invariants(url)
    again = demo_counts(url)
    assert again["students"] == SMALL["students"] and again["exams"] == SMALL["exams"]
    assert again["bookings"] > 100 and again["without_hubspot_id"] == 0
    # Only this run's rows: every ledger row belongs to a booking of this run, once or twice
    # (a booking, its cancellation, a rebook pair), so the ledger cannot hold the first run's.
    assert again["ledger"] <= 2 * again["bookings"]
    assert rows(url, "SELECT count(*) AS n FROM hubspot_sync.hubspot_bookings "
                     "WHERE hubspot_id IS NULL")[0]["n"] == 0
    assert other_rows(url) == before

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE hubspot_sync.hubspot_contact_credits SET firstname = 'Renamed' "
                     "WHERE student_id = 'REAL0001'")
    pending = rows(url, "SELECT * FROM hubspot_sync.sync_queue WHERE done_at IS NULL")
    assert len(pending) == 1
    before = other_rows(url)
    third = run_mockbook("demo", database_url=url)
    assert_demo_passed(third, pushed=False)
    assert "push skipped: 1 outbox rows of records that are not the demo's" in text(third)
    assert rows(url, "SELECT * FROM hubspot_sync.sync_queue WHERE id = %s",
                (pending[0]["id"],)) == pending
    assert other_rows(url) == before
    assert_invariants(url)

    # A row that is not the demo's holding an id of the demo's range (here: as if a pull from
    # another HubSpot had handed it out): the demo says so and stops before loading anything.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = %s "
                     "WHERE student_id = 'REAL0001'", (str(low + 4),))
    fourth = run_mockbook("demo", database_url=url)
    assert fourth.returncode == 2, text(fourth)
    assert "hold HubSpot ids of the demo sandbox's range" in fourth.stderr
    assert f"contact {low + 4} (real0001@example.com)" in fourth.stderr
    assert "Traceback" not in fourth.stderr


def test_the_demo_sandbox_and_mockbook_sandbox_hand_out_distinct_ids() -> None:
    """Both start from nothing and create records: their ids (and portals) never meet."""
    from glue.demo.data import DEMO_PORTAL_ID, demo_sandbox
    from glue.sandbox import CONTACTS, Sandbox

    with demo_sandbox() as demo, Sandbox(conformance=False) as standalone:
        demo_ids = demo.seed(CONTACTS, [{"email": f"d{i}@x.invalid"} for i in range(50)])
        other_ids = standalone.seed(CONTACTS, [{"email": f"s{i}@x.invalid"} for i in range(50)])
        assert demo.store.portal_id == DEMO_PORTAL_ID != standalone.store.portal_id
    assert all(DEMO_ID_RANGE[0] <= int(i) <= DEMO_ID_RANGE[1] for i in demo_ids)
    assert max(int(i) for i in other_ids) < DEMO_ID_RANGE[0]


@pytest.mark.slow
def test_embedded_smoke_demo_then_down(embedded_dir: Path) -> None:
    """the CI contract: the zero-config path end to end — embedded PostgreSQL started on demand,
    migrated, bookings made, pushed to the in-process sandbox — then `mockbook down`."""
    data_dir = str(embedded_dir / "embedded")
    try:
        result = run_mockbook("demo", MOCKBOOK_DATA_DIR=data_dir)
        assert_demo_passed(result)
        assert f"the embedded PostgreSQL in {data_dir}" in text(result)
        assert "`mockbook down` stops the embedded database" in text(result)
    finally:
        stopped = run_mockbook("down", MOCKBOOK_DATA_DIR=data_dir)
    assert stopped.returncode == 0, stopped.stderr
    assert "embedded PostgreSQL stopped" in stopped.stdout


def _refused(code: str, sqlstate: str) -> psycopg.Error:
    """A mockbook error as the RPC raises it: SQLSTATE PT…, the code as the message."""
    attrs = {"sqlstate": sqlstate, "diag": SimpleNamespace(message_primary=code)}
    return type("Refused", (psycopg.Error,), attrs)(code)


@pytest.mark.parametrize(
    ("answers", "expected", "retries", "slept"),
    [
        (["BUSY", "BUSY", {"booking_id": "BK-1"}], ({"booking_id": "BK-1"}, None), 2, [0.05, 0.1]),
        (["BUSY"] * 5, (None, "BUSY"), 3, [0.05, 0.1, 0.15]),  # four attempts, then BUSY
        (["EXAM_FULL"], (None, "EXAM_FULL"), 0, []),  # any other code: no retry
    ],
)
def test_the_rush_retries_busy_with_the_same_call(monkeypatch, answers, expected, retries, slept):
    from glue.demo import rush

    sent: list[dict[str, Any]] = []

    def rpc(conn, fn, args, request=None):
        sent.append(args)
        answer = answers[len(sent) - 1]
        if isinstance(answer, str):
            raise _refused(answer, "PT503" if answer == "BUSY" else "PT409")
        return answer

    monkeypatch.setattr(rush.db, "rpc", rpc)
    runner = rush.Runner("postgresql://unused", 1)  # the pool is never opened
    waits: list[float] = []
    runner.sleep = waits.append
    call = rush.Call("create_booking", {"p_idempotency_key": "demo-1"})
    answer = rush.Answer(call)
    assert runner._send(None, call, answer) == expected
    assert answer.busy_retries == retries
    assert waits == pytest.approx(slept)
    assert len(sent) == retries + 1 and all(a == call.args for a in sent)


def test_demo_rows_are_never_sent_to_a_configured_portal(make_database) -> None:
    """After `make demo` the database holds thousands of the demo's rows whose audit trail was
    never written as notes: a push, pull or notes run against a real portal would have sent
    them. Every HubSpot command refuses while they are there (exit 2, naming `mockbook demo
    --clean`), and `demo --clean` removes them."""
    from glue.sandbox import Sandbox

    url = make_database("demo_clean")
    assert_demo_passed(run_mockbook("demo", database_url=url))
    unsent = rows(url, "SELECT count(*) AS n FROM hubspot_sync.supabase_audit_log "
                       "WHERE synced_to_hubspot_at IS NULL")[0]["n"]
    assert unsent > 0
    with Sandbox(access_token="demo-clean-token", setup=True) as portal:
        env = {"HUBSPOT_ACCESS_TOKEN": "demo-clean-token", "HUBSPOT_BASE_URL": portal.base_url}
        for command in (["push"], ["pull"], ["notes"]):
            refused = run_mockbook(*command, database_url=url, **env)
            assert refused.returncode == 2, refused.stderr
            assert "mockbook demo --clean" in refused.stderr and "Traceback" not in refused.stderr
        assert not [r for r in portal.requests if r["method"] in ("POST", "PATCH", "PUT")
                    and not r["path"].endswith("/search")]
        cleaned = run_mockbook("demo", "--clean", database_url=url)
        assert cleaned.returncode == 0 and "removed the demo's rows" in cleaned.stdout
        assert demo_counts(url)["students"] == 0
        assert rows(url, "SELECT count(*) AS n FROM hubspot_sync.supabase_audit_log "
                         "WHERE synced_to_hubspot_at IS NULL")[0]["n"] == 0
        pushed = run_mockbook("push", database_url=url, **env)
        assert pushed.returncode == 0, pushed.stderr
        assert portal.objects("0-46") == []  # no note of the demo's bookings
