"""B10: adopting a production database, at 100k and 400k bookings: how long the one-transaction
upgrade (0001_baseline -> head) runs, and so how long the old apps' writers must be stopped.

For each size a database of its own (ADOPT_DB) gets the production schema dump
(tests/fixtures/production/, loaded as tests/py/db/test_adopt_production.py loads it, with
Supabase's default grants) and production-shaped data written the way the original app writes
it (test_adopt_production.populate_sql: lower- and upper-case statuses, rebooked codes, null
codes, drifted counters; one student in ten per exam), then `VACUUM ANALYZE`. Measured:

- value: `alembic stamp 0001_baseline` + `alembic upgrade head` (glue.db.migrations, the same
  calls `mockbook migrate` makes), wall seconds. The upgrade is one transaction that takes its
  tables' locks up front (db/migrations/env.py), so this is also how long the booking tables are
  closed to writers; its details' `locked_steps`: the seconds each frozen file of it took, the
  longest ten and the rest together (what the lock's length is made of);
- reference, in the same run on the same data: one rewrite of the bookings table
  (`CREATE TABLE ... AS SELECT * FROM hubspot_bookings`, rolled back), the cheapest thing an
  upgrade that touches every booking row could do; ratio = upgrade / rewrite.

No target: the figure is for planning the maintenance window (README, "Adopting an existing
database").

B10 live (`B10L@<size>`), on a copy of the same loaded database: four connections call as the
original app does throughout the upgrade — two book (the contact's balance read, then
production's `create_booking_atomic` with the app's absolute balance, one PostgREST-style
transaction as service_role), one reads a contact through production's `get_contact_credits`
(so it waits inside the old function), one reads the exams — from before it starts to after
it commits.
Measured: the longest call among those that overlapped the upgrade (the longest time a caller
was blocked), against the same one rewrite of `hubspot_bookings`; also every call's outcome (a
result, a documented error: PTnnn or production's own 23505, the call's own 60 s lock limit (the
original apps' `maxDuration`), or a raw error), and how many were blocked longer than the 8 s
after which Supabase's API cancels a service-key call (`calls_over_api_timeout`). Target: at most
2 s at 100,000 bookings, 5 s at 400,000. Standalone: `bench/adoption.py [--sizes
100000,400000]` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
# the production dump's loader and the original app's data generator are the adoption tests'
# (tests/py/db/test_adopt_production.py), which import helpers of tests/py
sys.path.insert(2, str(HERE.parent / "tests" / "py"))
sys.path.insert(3, str(HERE.parent / "tests" / "py" / "db"))

from common import (  # noqa: E402
    Figure,
    admin_url,
    log,
    percentile,
    recreate_database,
    url_for,
)

ADOPT_DB = "mockbook_bench_adopt"
LIVE_DB = "mockbook_bench_adopt_live"
TITLE = "adoption: one-transaction upgrade of the production schema"
LIVE_TITLE = "adoption under the original app's calls: the longest call blocked"
LIVE_TARGETS = {100_000: 2.0, 400_000: 5.0}  # seconds a caller may be blocked at most
# Supabase's API cancels a service_role call after 8 s, authenticator's statement timeout
# (https://supabase.com/docs/guides/database/postgres/timeouts): the calls blocked longer
API_TIMEOUT_S = 8.0
# the live callers' own students and exams, beside the loaded data: enough credits and seats
# that the calls keep booking (a student books each exam once; 2,000 students, 40 exams)
LIVE_SEED = """
INSERT INTO hubspot_sync.hubspot_contact_credits (hubspot_id, student_id, email, firstname,
    lastname, sj_credits, cs_credits, sjmini_credits, mock_discussion_token, shared_mock_credits)
SELECT (90000000 + g)::text, 'LIVE' || g, 'live' || g || '@example.com', 'F' || g, 'L' || g,
       0, 1000, 0, 0, 0
FROM generate_series(1, 2000) AS g;
INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_exam_name, mock_type, exam_date,
    start_time, end_time, location, capacity, total_bookings, is_active, mock_set)
SELECT (49000000000 + g)::text, 'Live ' || g, 'Clinical Skills',
       (current_date + 30 + g)::timestamp, '09:00', '12:00', 'Mississauga', 100000, 0, 'true',
       'A'
FROM generate_series(1, 40) AS g;
"""
SIZES = (100_000, 400_000)
PER_EXAM = 95  # students per exam; bookings ~ exams * PER_EXAM * 19/18


def shape(bookings: int) -> tuple[int, int, int]:
    """(contacts, exams, per_exam) for about `bookings` bookings."""
    exams = max(4, round(bookings / (PER_EXAM * 19 / 18)))
    return max(1000, bookings // 10), exams, PER_EXAM


def production_helpers() -> tuple[str, Any, Any]:
    """(BASELINE, load_dump, populate_sql) of the adoption tests: what B10 loads and fills."""
    from test_adopt_production import BASELINE, load_dump, populate_sql

    return BASELINE, load_dump, populate_sql


def measure(bookings: int) -> dict[str, Any]:
    from glue.db import migrations

    BASELINE, load_dump, populate_sql = production_helpers()

    url = recreate_database(ADOPT_DB)
    contacts, exams, per_exam = shape(bookings)
    started = time.perf_counter()
    load_dump(url)
    with psycopg.connect(url) as conn:
        conn.execute(populate_sql(contacts, exams, per_exam))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        rows = conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings").fetchone()[0]
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size("
                            "'hubspot_sync.hubspot_bookings'))").fetchone()[0]
    load_s = time.perf_counter() - started
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        # the live run's copy of the same data (B10 live)
        conn.execute(f'DROP DATABASE IF EXISTS "{LIVE_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{LIVE_DB}" TEMPLATE "{ADOPT_DB}"')
    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        conn.execute("CREATE TABLE hubspot_sync.bench_rewrite AS"
                     " SELECT * FROM hubspot_sync.hubspot_bookings")
        rewrite_s = time.perf_counter() - start
        conn.rollback()
    migrations.stamp(url, BASELINE)
    names, ticks, adoption = migrations.steps(BASELINE), [], {}
    start = time.perf_counter()
    migrations.upgrade(url, "head", progress=lambda: ticks.append(time.perf_counter()),
                       adoption=adoption)
    upgrade_s = time.perf_counter() - start
    with psycopg.connect(url, autocommit=True) as conn:
        after = conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings").fetchone()[0]
        report = conn.execute("SELECT count(*) FROM hubspot_sync.adoption_report").fetchone()[0]
    assert after == rows, f"{rows} bookings before the upgrade, {after} after"
    return {"bookings": rows, "contacts": contacts, "exams": exams, "bookings_size": size,
            "load_s": round(load_s, 1), "rewrite_s": round(rewrite_s, 3),
            "upgrade_s": round(upgrade_s, 2), "locked_s": adoption["locked_s"],
            "adoption_report_rows": report,
            "locked_steps": where_the_time_goes(names, start, ticks)}


def where_the_time_goes(names: list[str], start: float, ticks: list[float],
                        top: int = 10) -> dict[str, float]:
    """Seconds per frozen file of the upgrade (all of it inside the locks), the `top` longest
    and the rest together: each statement group ends at its progress tick (glue.db.migrations
    .steps names them in the same order); the first one also holds the lock taken before it."""
    assert len(names) == len(ticks), f"{len(names)} statement groups, {len(ticks)} ran"
    spent: Counter[str] = Counter()
    for name, begin, end in zip(names, [start, *ticks[:-1]], ticks, strict=True):
        spent[name.split(": ", 1)[1].removesuffix(".nontx")] += end - begin
    longest = dict(spent.most_common(top))
    rest = sum(spent.values()) - sum(longest.values())
    return {**{k: round(v, 3) for k, v in longest.items()},
            f"the other {len(spent) - len(longest)} files": round(rest, 3)}


def call_as_the_app(url: str, kind: str, numbers: itertools.count, stop: threading.Event,
                    calls: list[tuple[float, float, str]], lock: threading.Lock) -> None:
    """One connection of the original app until `stop`: bookings ("book"), reads through
    production's get_contact_credits ("rpc") or exam reads ("read"), each one PostgREST-style
    transaction; every call's (start, end, outcome)."""
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            n = next(numbers)
            sid = f"LIVE{n % 2000 + 1}"
            exam = str(49000000001 + n // 2000 % 40)
            start = time.perf_counter()
            try:
                with conn.transaction():
                    conn.execute("SET LOCAL lock_timeout = '60s'")
                    conn.execute("SELECT set_config('role', 'service_role', true),"
                                 " set_config('request.jwt.claims', '{\"role\":\"service_role\"}',"
                                 " true), set_config('search_path', 'hubspot_sync, public', true)")
                    if kind == "read":
                        conn.execute("SELECT hubspot_id, capacity, total_bookings FROM"
                                     " hubspot_sync.hubspot_mock_exams WHERE mock_type ="
                                     " 'Clinical Skills' ORDER BY exam_date LIMIT 50").fetchall()
                    elif kind == "rpc":
                        # a read through production's function, nothing read before it: such a
                        # call waits on the upgrade's locks inside the function
                        conn.execute("SELECT hubspot_sync.get_contact_credits(p_student_id := %s,"
                                     " p_email := %s)",
                                     (sid, f"live{n % 2000 + 1}@example.com")).fetchone()
                    else:
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
                            (f"Clinical Skills-{sid}-{exam}", sid,
                             f"live{n % 2000 + 1}@example.com", exam, f"live-{n}", row[0] - 1))
                outcome = "result"
            except psycopg.Error as exc:
                state = exc.sqlstate or ""
                outcome = (f"documented {state}" if state.startswith("PT") or state == "23505"
                           else "own 60 s limit" if state == "55P03" else f"raw {state}")
            with lock:
                calls.append((start, time.perf_counter(), outcome))


def measure_live(bookings: int) -> dict[str, Any]:
    """The upgrade of LIVE_DB (a copy of the loaded data) under the original app's calls."""
    from glue.db import migrations

    BASELINE = production_helpers()[0]
    url = url_for(LIVE_DB)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(LIVE_SEED)
        conn.execute("VACUUM ANALYZE hubspot_sync.hubspot_contact_credits,"
                     " hubspot_sync.hubspot_mock_exams")
    migrations.stamp(url, BASELINE)
    stop, lock, numbers = threading.Event(), threading.Lock(), itertools.count()
    calls: list[tuple[float, float, str]] = []
    adoption: dict = {}
    threads = [threading.Thread(target=call_as_the_app,
                                args=(url, kind, numbers, stop, calls, lock))
               for kind in ("book", "book", "rpc", "read")]

    def done_since(moment: float) -> int:
        with lock:
            return sum(1 for _, end, _ in calls if end > moment)

    for t in threads:
        t.start()
    stderr = io.StringIO()
    try:
        while done_since(0) < 200:
            time.sleep(0.05)
        start = time.perf_counter()
        with contextlib.redirect_stderr(stderr):
            migrations.upgrade(url, "head", adoption=adoption)
        end = time.perf_counter()
        while done_since(end) < 200:
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    before = [e - s for s, e, _ in calls if e < start]
    during = [e - s for s, e, _ in calls if e > start and s < end]
    after = [e - s for s, e, _ in calls if s > end]
    outcomes = Counter(o for _, _, o in calls)
    return {"bookings": bookings, "upgrade_s": round(end - start, 2),
            "max_blocked_s": round(max(during), 3), "locked_s": adoption["locked_s"],
            "calls_during": len(during), "calls_before": len(before), "calls_after": len(after),
            "before_p50_ms": round(percentile(before, 50) * 1000, 1),
            "before_max_ms": round(max(before) * 1000, 1),
            "after_p50_ms": round(percentile(after, 50) * 1000, 1),
            "lock_attempts": adoption["attempts"],
            "calls_over_api_timeout": sum(1 for d in during if d > API_TIMEOUT_S),
            "outcomes": dict(outcomes),
            "raw_errors": sum(v for k, v in outcomes.items() if k.startswith("raw"))}


def b10(quick: bool, sizes: tuple[int, ...] = SIZES) -> list[Figure]:
    figures = []
    try:
        for bookings in sizes[:1] if quick else sizes:
            log(f"B10: production dump + {bookings} bookings, then the upgrade")
            m = measure(bookings)
            log(f"B10@{bookings}: upgrade {m['upgrade_s']} s, rewrite {m['rewrite_s']} s")
            figures.append(Figure(
                id=f"B10@{bookings // 1000}k", bench="B10", title=TITLE, value=m["upgrade_s"],
                unit="s", reference=m["rewrite_s"], reference_unit="s",
                reference_name="one rewrite of hubspot_bookings (CREATE TABLE AS)",
                ratio=round(m["upgrade_s"] / m["rewrite_s"], 1) if m["rewrite_s"] else None,
                ratio_meaning="upgrade s / rewrite s", target=None,
                how=(f"production dump + {m['bookings']} bookings, {m['contacts']} contacts, "
                     f"{m['exams']} exams written as the original app writes them "
                     "(test_adopt_production.populate_sql), VACUUM ANALYZE; then `alembic "
                     "stamp 0001_baseline` + `alembic upgrade head` (one transaction, its "
                     "locks taken up front: the writers' downtime)"),
                details=m))
            live = measure_live(m["bookings"])
            log(f"B10L@{bookings}: longest call blocked {live['max_blocked_s']} s, "
                f"upgrade {live['upgrade_s']} s, outcomes {live['outcomes']}")
            figures.append(Figure(
                id=f"B10L@{bookings // 1000}k", bench="B10", title=LIVE_TITLE,
                value=live["max_blocked_s"], unit="s", reference=m["rewrite_s"],
                reference_unit="s", reference_name="one rewrite of hubspot_bookings (CREATE "
                "TABLE AS)", ratio=round(live["max_blocked_s"] / m["rewrite_s"], 1)
                if m["rewrite_s"] else None, ratio_meaning="longest blocked call s / rewrite s",
                target=LIVE_TARGETS.get(bookings), target_op="<=",
                how=("a copy of the same data; 2 connections book as the original app (balance "
                     "read, then production's create_booking_atomic), 1 reads contacts through "
                     "production's get_contact_credits, 1 reads the exams, "
                     "from before the upgrade to after it; the longest call that overlapped it"),
                details=live).judge())
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{ADOPT_DB}" WITH (FORCE)')
            conn.execute(f'DROP DATABASE IF EXISTS "{LIVE_DB}" WITH (FORCE)')
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="bookings per run, comma-separated")
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    for figure in b10(quick=False, sizes=sizes):
        print(json.dumps(figure.as_dict(), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
