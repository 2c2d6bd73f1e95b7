"""Adopting production while the old app still books: all or nothing, never an outage.

The upgrade from 0001_baseline runs as one transaction (db/migrations/env.py), its tables locked
up front in the lock order. Here four threads call production's own create_booking_atomic
exactly as the JS app does — the contact's row read and held first (its balance computed by the
app), then the RPC, one PostgREST transaction — before, during and after the upgrade. Before,
such a run deadlocked part-way and left the database half-upgraded, production's function
broken (42704: type "mock_set_enum" does not exist) for every later call.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable

import psycopg
import pytest
from invariants import check_invariants, snapshot
from test_adopt_production import load_dump
from waiting import wait_until

from glue.db import migrations

MakeDatabase = Callable[[str], str]

SEED = """
INSERT INTO hubspot_sync.hubspot_contact_credits (hubspot_id, student_id, email, firstname,
    lastname, sj_credits, cs_credits, sjmini_credits, mock_discussion_token, shared_mock_credits)
SELECT (80000000 + g)::text, 'LIVE' || g, 'live' || g || '@example.com', 'F' || g, 'L' || g,
       3, 3, 0, 0, 0
FROM generate_series(1, 400) AS g;
INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_exam_name, mock_type, exam_date,
    start_time, end_time, location, capacity, total_bookings, is_active, mock_set)
SELECT (41000000000 + g)::text, 'Live ' || g, 'Clinical Skills',
       (current_date + 30 + g)::timestamp, '09:00', '12:00', 'Mississauga', 1000, 0, 'true', 'A'
FROM generate_series(1, 4) AS g;
"""


def call_as_the_app(url: str, students: itertools.count, stop: threading.Event,
                    going: threading.Event, outcomes: Counter, lock: threading.Lock) -> None:
    """One app thread: the contact's balance read first (as the app's credit check does), then
    the production RPC with the app's absolute balance, in one PostgREST-style transaction.
    It calls while `going` is set (a call counts as in flight from that check on)."""
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            going.wait()
            with lock:
                if not going.is_set() or stop.is_set():
                    continue
                outcomes["in flight"] += 1
            n = next(students)
            sid, email = f"LIVE{n % 400 + 1}", f"live{n % 400 + 1}@example.com"
            exam = str(41000000001 + n // 400 % 4)
            code = f"Clinical Skills-{sid}-{exam}"
            try:
                with conn.transaction():
                    conn.execute("SET LOCAL lock_timeout = '60s'")
                    # as PostgREST runs a request: the role, the claims, and the exposed
                    # schema first in the search_path (production's function relies on it)
                    conn.execute("SELECT set_config('role', 'service_role', true),"
                                 " set_config('request.jwt.claims', '{\"role\":\"service_role\"}',"
                                 " true), set_config('search_path', 'hubspot_sync, public', true)")
                    row = conn.execute(
                        "SELECT cs_credits FROM hubspot_sync.hubspot_contact_credits"
                        " WHERE student_id = %s", (sid,)).fetchone()
                    conn.execute(
                        "SELECT hubspot_sync.create_booking_atomic(p_booking_id := %s,"
                        " p_student_id := %s, p_student_email := %s, p_mock_exam_id := %s,"
                        " p_student_name := 'Live', p_token_used := 'Clinical Skills Token',"
                        " p_attending_location := 'mississauga', p_dominant_hand := 'right',"
                        " p_idempotency_key := %s, p_credit_field := 'cs_credits',"
                        " p_new_credit_value := %s)",
                        (code, sid, email, exam, f"live-{n}", row[0] - 1))
                result = "ok"
            except psycopg.Error as exc:
                state = exc.sqlstate or ""
                # a documented mockbook answer (after the upgrade: PTnnn), or production's own
                # refusals of a repeated code or key (unique violations the old function raised)
                result = (state if state.startswith("PT") or state == "23505"
                          else f"RAW {state} {exc}")
            with lock:
                outcomes[result] += 1
                outcomes["in flight"] -= 1


@pytest.mark.slow
def test_the_upgrade_completes_while_the_old_app_books(fresh_database: MakeDatabase) -> None:
    url = fresh_database("adopt_live")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
    migrations.stamp(url, "0001_baseline")

    stop, going, lock, outcomes = (threading.Event(), threading.Event(), threading.Lock(),
                                   Counter())
    going.set()
    students = itertools.count()
    threads = [threading.Thread(target=call_as_the_app,
                                args=(url, students, stop, going, outcomes, lock))
               for _ in range(4)]

    def booked() -> int:
        with lock:
            return outcomes["ok"]

    def in_flight() -> int:
        with lock:
            return outcomes["in flight"]

    for t in threads:
        t.start()
    try:
        wait_until("the old app booking before the upgrade", lambda: booked() >= 20)
        before = booked()
        migrations.upgrade(url, "head")
        with lock:
            during = outcomes["ok"]
        # the snapshot the invariants start from is read with no call in flight (a call's
        # ledger row, numbered before the snapshot but committed after it, would be missed)
        going.clear()
        wait_until("no call in flight", lambda: not in_flight())
        with psycopg.connect(url, autocommit=True) as conn:
            snap = snapshot(conn)
        after_snapshot = booked()
        going.set()
        wait_until("calls booked through mockbook after the snapshot",
                   lambda: booked() >= after_snapshot + 20)
    finally:
        stop.set()
        going.set()  # a thread waiting to call sees the stop
        for t in threads:
            t.join(timeout=60)
    assert migrations.current(url) == migrations.head()
    raw = {k: v for k, v in outcomes.items() if k.startswith("RAW")}
    assert raw == {}, raw
    # calls booked before the upgrade, and after it through mockbook's functions
    assert before > 0 and outcomes["ok"] > during, outcomes
    with psycopg.connect(url, autocommit=True) as conn:
        check_invariants(conn, snap)
        # production's function was replaced by mockbook's, which books through the ledger
        assert conn.execute("SELECT count(*) FROM hubspot_sync.credit_ledger"
                            " WHERE reason = 'booking'").fetchone()[0] > 0


def test_a_failed_adoption_leaves_production_exactly_as_it_was(
        fresh_database: MakeDatabase) -> None:
    """A late revision fails (an object in the way of 0006's functions): the whole adoption is
    rolled back, the database is still at 0001_baseline and production's function still books."""
    url = fresh_database("adopt_fail")
    load_dump(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED)
        # mockbook's internal schema taken by someone else's table of the same name as a
        # function mockbook creates: CREATE FUNCTION fails deep in the upgrade
        conn.execute("CREATE SCHEMA mockbook_internal")
        conn.execute("CREATE TABLE mockbook_internal.clash (id int)")
        conn.execute("CREATE FUNCTION mockbook_internal.raise_error(text, text, text)"
                     " RETURNS int LANGUAGE sql AS 'SELECT 1'")
        tables_before = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'hubspot_sync'::regnamespace"
        ).fetchone()[0]
    migrations.stamp(url, "0001_baseline")
    with pytest.raises(SystemExit, match="nothing was changed: the database is still at"
                                         " 0001_baseline"):  # the runner's refusal block
        migrations.upgrade(url, "head")
    assert migrations.current(url) == "0001_baseline"
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'hubspot_sync'::regnamespace"
        ).fetchone()[0] == tables_before
        assert conn.execute("SELECT to_regtype('hubspot_sync.mock_set_enum')").fetchone()[0]
        conn.execute("SET search_path = hubspot_sync, public")   # as PostgREST calls it
        result = conn.execute(
            "SELECT hubspot_sync.create_booking_atomic('Clinical Skills-LIVE1-x', 'LIVE1',"
            " 'live1@example.com', '41000000001', 'Live', 'Clinical Skills Token',"
            " 'mississauga', 'right', 'after-failure', 'cs_credits', 2)").fetchone()[0]
        assert result["success"] is True
