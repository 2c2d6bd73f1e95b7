"""On-demand refresh (hubspot_sync.request_refresh, glue.sync.refresh): a record read from
HubSpot now, applied by the pull's own path, its outcome written, broadcast and traced; what
HubSpot being down, rate-limiting or having lost the record answers; and the running worker
picking a request up. Timings are not asserted here: B16 in bench/ measures them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import push_helpers
import pytest
import realtime
import sandbox_fixtures
from postgrest import rpc
from pull_helpers import contact, exam, fast, hubspot, ledger, one, seed_contacts, seed_exams
from push_helpers import env_for, open_db
from test_worker import RunningWorker, wait_for

from glue.sandbox import CONTACTS, EXAMS, Sandbox
from glue.sync.pull import pull
from glue.sync.refresh import RefreshProcessor
from glue.sync.trace import read_story

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
ADMIN = {"sub": "a-1", "email": "dean@school.ca", "app_metadata": {"role": "admin"}}


def processor(url: str, sb: Sandbox) -> RefreshProcessor:
    settings, client, reader = hubspot(url, sb)
    client._sleep = lambda seconds: None  # the client's backoffs and 429 waits: no real time
    return RefreshProcessor(open_db(url), reader, settings, worker="tests")


def ask(url: str, **record: str) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        return rpc(conn, "request_refresh", claims=ADMIN, **record)


def outcome(url: str, request_id: int) -> tuple[str | None, str | None]:
    row = one(url, "SELECT jsonb_build_object('o', outcome, 'd', detail) FROM"
                   " hubspot_sync.refresh_requests WHERE id = %s", (request_id,))
    return row["o"], row["d"]


def with_realtime(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        realtime.install(conn)
        rpc(conn, "set_realtime_broadcasts", p_enabled=True)


def test_an_exam_is_read_applied_as_the_pull_applies_it_and_broadcast(
        push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    with_realtime(push_db)
    (exam_id,) = seed_exams(sandbox, [{"capacity": "12"}])
    first = ask(push_db, p_mock_exam_id=exam_id)  # HubSpot has it, mockbook not yet
    assert (first["status"], first["topic"]) == ("waiting", f"mockbook:exam:{exam_id}")
    assert ask(push_db, p_mock_exam_id=exam_id)["already_waiting"]  # one waiting per record
    work = processor(push_db, sandbox)
    assert work.process_once().outcomes == {"applied": 1}
    assert outcome(push_db, first["request_id"]) == ("applied", "1 inserted")
    assert exam(push_db, exam_id)["capacity"] == 12
    sandbox.touch(EXAMS, exam_id, capacity="15")
    with psycopg.connect(push_db, autocommit=True) as conn:
        realtime.clear(conn)
    again = ask(push_db, p_mock_exam_id=exam_id)
    work.process_once()
    assert outcome(push_db, again["request_id"]) == ("applied", "1 updated")
    assert exam(push_db, exam_id)["capacity"] == 15
    with psycopg.connect(push_db, autocommit=True) as conn:
        sent = {(m["topic"], m["event"]): m["payload"] for m in realtime.messages(conn)}
    assert sent[(f"mockbook:exam:{exam_id}", "seats")]["capacity"] == 15
    told = sent[(f"mockbook:exam:{exam_id}", "refresh")]
    assert (told["request_id"], told["outcome"]) == (again["request_id"], "applied")
    # the same message (realtime.send gives each its own id)
    assert {**sent[("mockbook:admin", "refresh")], "id": None} == {**told, "id": None}
    assert set(sent) == {(f"mockbook:exam:{exam_id}", e) for e in ("seats", "refresh")} | {
        ("mockbook:admin", "refresh")}
    lines = [e.text for e in read_story(open_db(push_db), exam_id, kind="exam").events
             if e.source == "refresh"]
    assert lines[-1].startswith(f"refresh from HubSpot asked (request {again['request_id']}): "
                                "applied")


def test_a_students_credits_edited_in_hubspot_are_merged_as_the_pull_merges_them(
        push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    (contact_id,) = seed_contacts(sandbox, [{"student_id": "RF1", "cs_credits": "2"}])
    settings, client, reader = hubspot(push_db, sandbox)
    pull(open_db(push_db), client, settings, only=("contacts",), reader=reader)
    sandbox.touch(CONTACTS, contact_id, cs_credits="5")  # an admin adds 3 in HubSpot
    asked = ask(push_db, p_student_id="RF1")
    processor(push_db, sandbox).process_once()
    assert outcome(push_db, asked["request_id"])[0] == "applied"
    assert contact(push_db, "RF1")["cs_credits"] == 5
    assert [(r[0], r[2]) for r in ledger(push_db, "RF1")][-1] == ("hubspot_adjustment", 3)


def test_outcomes_when_hubspot_is_down_rate_limited_or_has_lost_the_record(
        push_db: str, sandbox: Sandbox) -> None:
    fast(sandbox)
    down, limited, deleted = seed_exams(sandbox, [{"capacity": "9"}] * 3)
    (gone_contact,) = seed_contacts(sandbox, [{"student_id": "RF2"}])
    settings, client, reader = hubspot(push_db, sandbox)
    pull(open_db(push_db), client, settings, reader=reader)
    work = processor(push_db, sandbox)

    asked = ask(push_db, p_mock_exam_id=down)
    sandbox.faults.error_rate = 1.0
    work.process_once()
    sandbox.faults.reset()
    state, detail = outcome(push_db, asked["request_id"])
    assert state == "hubspot_unavailable" and detail

    asked = ask(push_db, p_mock_exam_id=limited)
    sandbox.faults.storm(3600)
    work.process_once()
    sandbox.faults.reset()
    assert outcome(push_db, asked["request_id"])[0] == "rate_limited"

    sandbox.archive(EXAMS, deleted)
    sandbox.archive(CONTACTS, gone_contact)
    exam_asked = ask(push_db, p_mock_exam_id=deleted)
    contact_asked = ask(push_db, p_student_id="RF2")
    work.process_once()
    state, detail = outcome(push_db, exam_asked["request_id"])
    assert state == "gone" and "closed here" in detail
    assert exam(push_db, deleted)["is_active"] == "false"  # as the pull closes an archived exam
    assert outcome(push_db, contact_asked["request_id"])[0] == "gone"
    assert contact(push_db, "RF2") is not None  # kept


def test_a_record_not_in_hubspot_yet_is_answered_at_once(push_db: str, sandbox: Sandbox) -> None:
    with psycopg.connect(push_db, autocommit=True) as conn:
        student = one(push_db, "SELECT tests.make_student(p_sj := 1, p_hubspot_id := NULL)")
        conn.execute("UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = NULL"
                     " WHERE student_id = %s", (student,))
    answer = ask(push_db, p_student_id=student)
    assert (answer["status"], answer["outcome"], answer["hubspot_id"]) == (
        "done", "not_in_hubspot", None)
    assert processor(push_db, sandbox).process_once().requests == 0


@pytest.mark.parametrize("record", [{}, {"p_mock_exam_id": "1", "p_student_id": "S1"},
                                    {"p_mock_exam_id": " "}])
def test_one_record_is_named(push_db: str, record: dict[str, str]) -> None:
    with psycopg.connect(push_db, autocommit=True) as conn, pytest.raises(Exception) as refused:
        rpc(conn, "request_refresh", **record)
    assert getattr(refused.value, "code", None) == "INVALID_ARGUMENT"


def test_the_running_worker_picks_a_request_up(push_db: str, sandbox: Sandbox,
                                              tmp_path: Path) -> None:
    """`mockbook worker` as operators run it: its refresh lane sees the request (it looks at
    the requests' sequence, no LISTEN) and writes the outcome; however long a loaded machine
    takes, the deadline only stops a hang."""
    fast(sandbox)
    (exam_id,) = seed_exams(sandbox, [{"capacity": "7"}])
    worker = RunningWorker(env_for(push_db, sandbox), tmp_path / "refresh.log", "wrk-refresh")
    try:
        wait_for("the worker's start", lambda: worker.logged("start"))
        asked = ask(push_db, p_mock_exam_id=exam_id)
        wait_for("the request's outcome",
                 lambda: outcome(push_db, asked["request_id"])[0] is not None)
        assert outcome(push_db, asked["request_id"])[0] == "applied"
        # the lane logs its pass once the outcomes are committed: a moment after they show
        wait_for("the worker's refresh line", lambda: worker.logged("refresh"))
        lines = worker.logged("refresh")
        assert sum(line["requests"] for line in lines) == 1, lines
    finally:
        assert worker.stop() == 0
