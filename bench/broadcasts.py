"""B17: what Supabase Realtime broadcasts cost a booking, and the rush's messages; B16: an
on-demand refresh, from the request to the record applied and its outcome broadcast.

    bench/broadcasts.py [--clients 8,32] [--rounds 3] [--leg 8] [--quiet-wait 300] [--keep]
    bench/broadcasts.py --refresh [--requests 40] [--every 1.25]

- **One fixture, one database.** Supabase Realtime's schema (the suite's copy of it,
  tests/fixtures/realtime/supabase_realtime.sql: realtime.send, the partitioned
  realtime.messages) is installed first, then mockbook's db/ (which turns broadcasts on, as on a
  Supabase project), then B1's fixture (bench/fixtures.py).
- **The legs.** Per client count, `--rounds` rounds of off, on, on, off: before each leg
  hubspot_sync.set_realtime_broadcasts switches the triggers, then pgbench runs B1's spread
  booking as PostgREST makes it (fixtures.SPREAD_SCRIPT) for `--leg` seconds, with the
  backends' CPU a booking read as bench/abba.py reads it. B17 = on ÷ off bookings a second
  (target ≥ 0.95); each round's own ratio is kept (their spread is the noise). Every booking of
  an "on" leg must have sent its two messages (the exam's seats, the student's booking), and none
  of an "off" leg one.
- **The rush** (B17r): B3's rush, broadcasts on: 2,000 students for 20 seats on 64 connections;
  the exam's topic must carry exactly 20 seats messages, saying total_bookings 1..20 once each
  (the k-th booking to commit wrote the k-th: each held the exam's row from its seat to its
  commit), and each winner's topic one booking message, no loser's any.
- **A quiet start**, as bench/abba.py: the load average must first fall to half the cores.

- **B16** (`--refresh`): `mockbook worker` (a subprocess, default settings) on a database with
  Realtime's schema, against an in-process HubSpot sandbox at 100 requests / 10 s whose 20 exams
  and 200 students its first pull imports; then bookings at 5/s for the whole measurement (the
  push runs beside the refreshes, on the same rate budget), and every `--every` s (default 1.25:
  within the worker's refresh lane, a tenth of the budget, 10 calls / 10 s) an admin edits one
  exam's capacity in the sandbox and asks for it with request_refresh (as PostgREST calls it;
  eight admins in turn, each within the 10 requests a minute one caller may make).
  Latency = the request's commit -> the commit of its outcome's broadcast (the `refresh` message
  on `mockbook:admin`, polled every 10 ms), the exam's new capacity applied; p95, target <= 2 s.

Writes bench/results/<UTC timestamp>-broadcasts.json (or -refresh.json; commit it only when a
page cites it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import abba  # noqa: E402
import fixtures  # noqa: E402
import pgbench  # noqa: E402
import psycopg  # noqa: E402
import workloads  # noqa: E402
from common import admin_url, log, recreate_database, server_info, url_for  # noqa: E402

from glue.db.source import apply_source  # noqa: E402

REALTIME = HERE.parent / "tests" / "fixtures" / "realtime" / "supabase_realtime.sql"
SWITCH = "SELECT hubspot_sync.set_realtime_broadcasts(p_enabled := %s, p_actor := 'bench')"
MESSAGES = "SELECT count(*) FROM realtime.messages WHERE topic LIKE 'mockbook:%%'"


def build(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(REALTIME.read_text())
    apply_source(url)
    fixtures.load(url)


def switch(url: str, on: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        state = conn.execute(SWITCH, (on,)).fetchone()[0]
    assert state["broadcasts"] == ("on" if on else "off"), state


def scalar(url: str, query: str, params: tuple = ()) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchone()[0]


def compare(binary: str, url: str, clients: int, rounds: int, seconds: int) -> dict[str, Any]:
    """`rounds` ABBA rounds, off (reference) and on (subject), at `clients` clients."""
    cpu: dict[str, list[float | None]] = {"base": [], "subject": []}
    counted: dict[str, list[tuple[int, int]]] = {"off": [], "on": []}

    def run(on: bool) -> pgbench.PgbenchResult:
        switch(url, on)
        before = (workloads._bookings(url), scalar(url, MESSAGES))
        result = abba.leg(binary, url, clients, seconds, cpu["subject" if on else "base"])
        counted["on" if on else "off"].append(
            (workloads._bookings(url) - before[0], scalar(url, MESSAGES) - before[1]))
        return result

    workloads._checkpoint(url)
    pair = workloads.abba(lambda: run(False), lambda: run(True), rounds)
    if pair.failed:
        bad = pair.failed[0]
        return {"clients": clients, "error": bad.describe(), "output_tail": bad.output[-2000:]}
    result = abba.summary(clients, pair, cpu)
    result["ratio_meaning"] = "bookings a second, broadcasts on ÷ off"
    result["bookings_and_messages"] = counted
    wrong = [f"{state} leg: {made} bookings, {sent} messages" for state, legs in counted.items()
             for made, sent in legs if sent != (2 * made if state == "on" else 0)]
    if wrong:
        result["error"] = "; ".join(wrong)
    return result


def rush(url: str, binary: str) -> dict[str, Any]:
    """B3's rush with broadcasts on; the messages it sent."""
    switch(url, True)
    ctx = workloads.Context(url=url, pgbench_url="", pgbench_bin=binary, leg=3, quick=True)
    [fig] = workloads.b3(ctx)
    with psycopg.connect(url, autocommit=True) as conn:
        seats = [row[0] for row in conn.execute(
            "SELECT (payload ->> 'total_bookings')::int FROM realtime.messages"
            " WHERE topic = 'mockbook:exam:BRUSH' AND event = 'seats'")]
        students = conn.execute(
            "SELECT count(*), count(DISTINCT topic) FROM realtime.messages"
            " WHERE topic LIKE 'mockbook:student:r%%' AND event = 'booking'").fetchone()
    once = sorted(seats) == list(range(1, workloads.RUSH_SEATS + 1))
    return {"students": workloads.RUSH_STUDENTS, "seats": workloads.RUSH_SEATS,
            "bookings": fig.details.get("bookings"), "booking_correct": fig.passed,
            "seats_messages": len(seats), "total_bookings_said": Counter(seats),
            "each_seat_change_once_in_commit_order": once,
            "winners_booking_messages": students[0], "winners_topics": students[1],
            "latency_ms": fig.details.get("latency_ms"),
            "passed": bool(fig.passed and once and students[0] == students[1]
                           == workloads.RUSH_SEATS)}


REFRESH_EXAMS = 20
REFRESH_STUDENTS = 200
BOOKINGS_PER_SECOND = 5.0


def refresh_latency(requests: int, every: float) -> dict[str, Any]:
    """B16 (see the module docstring)."""
    import subprocess
    import tempfile
    import threading
    from datetime import timedelta

    from glue.sandbox import CONTACTS, EXAMS, Sandbox

    token, name = "bench-refresh-token", f"mockbook_b16_{os.getpid()}"
    url = recreate_database(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(REALTIME.read_text())
    apply_source(url)
    day0 = scalar(url, "SELECT hubspot_sync.business_today() + 10")
    students = [f"RQ{i}" for i in range(REFRESH_STUDENTS)]
    out: dict[str, Any] = {"requests": requests, "every_s": every,
                           "bookings_per_second": BOOKINGS_PER_SECOND}
    with Sandbox(conformance=False, setup=True, rate_limit=100, rate_window=10.0,
                 access_token=token) as sb:
        exam_ids = sb.seed(EXAMS, [{
            "mock_exam_name": f"refresh exam {k}", "mock_type": "Situational Judgment",
            "exam_date": str(day0 + timedelta(days=k)), "start_time": "09:00",
            "end_time": "12:00", "location": "mississauga", "capacity": "1000",
            "total_bookings": "0", "is_active": "true", "mock_set": "A"}
            for k in range(REFRESH_EXAMS)])
        sb.seed(CONTACTS, [{
            "email": f"{s.lower()}@example.com", "student_id": s, "firstname": s,
            "lastname": "Refresh", "sj_credits": "50", "cs_credits": "0", "sjmini_credits": "0",
            "mock_discussion_token": "0", "shared_mock_credits": "0"} for s in students])
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "MOCKBOOK_SCHEMA_SOURCE")}
        env.update(DATABASE_URL=url, HUBSPOT_ACCESS_TOKEN=token, HUBSPOT_BASE_URL=sb.base_url,
                   HUBSPOT_RATE_LIMIT="100", HUBSPOT_RATE_WINDOW_SECONDS="10",
                   HUBSPOT_TIMEOUT_SECONDS="10")
        log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w+", prefix="mockbook-bench-refresh-", suffix=".log", delete=False)
        proc = subprocess.Popen(
            [sys.executable, "-c", "from glue.cli import main; main()", "worker",
             "--name", "bench-refresh"], env=env, cwd=str(HERE.parent), stdout=log_file,
            stderr=subprocess.STDOUT)
        stop = threading.Event()
        booked: list[int] = []
        try:
            deadline = time.monotonic() + 120
            while scalar(url, "SELECT count(*) FROM hubspot_sync.hubspot_contact_credits") \
                    < REFRESH_STUDENTS or scalar(
                        url, "SELECT count(*) FROM hubspot_sync.hubspot_mock_exams") \
                    < REFRESH_EXAMS:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the worker did not import the sandbox's records: "
                                       + Path(log_file.name).read_text()[-800:])
                time.sleep(0.2)

            def book() -> None:  # the push's work, all along
                sql = ("SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s,"
                       " p_mock_exam_id := %s, p_idempotency_key := %s,"
                       " p_attending_location := 'mississauga')")
                with psycopg.connect(url, autocommit=True) as conn:
                    start, k = time.monotonic(), 0
                    while not stop.is_set():
                        stop.wait(max(start + k / BOOKINGS_PER_SECOND - time.monotonic(), 0))
                        s = students[k % REFRESH_STUDENTS]
                        with conn.transaction():
                            conn.execute(fixtures.POSTGREST_PREAMBLE)
                            conn.execute(sql, (s, f"{s.lower()}@example.com",
                                               exam_ids[(k // REFRESH_STUDENTS) % REFRESH_EXAMS],
                                               f"refresh-{k}"))
                        booked.append(k)
                        k += 1

            booker = threading.Thread(target=book, daemon=True)
            booker.start()
            lags: list[float] = []
            wrong: list[str] = []
            with psycopg.connect(url, autocommit=True) as conn:
                for n in range(requests):
                    exam = exam_ids[n % REFRESH_EXAMS]
                    capacity = 1000 + n + 1
                    sb.touch(EXAMS, exam, capacity=str(capacity))
                    with conn.transaction():
                        conn.execute(fixtures.POSTGREST_PREAMBLE)
                        # eight admins in turn: each within the 10 a minute one caller may ask
                        conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (
                            json.dumps({"role": "service_role", "email": f"admin{n % 8}@school.ca",
                                        "app_metadata": {"role": "admin"}}),))
                        asked = conn.execute("SELECT hubspot_sync.request_refresh("
                                             "p_mock_exam_id := %s)", (exam,)).fetchone()[0]
                    committed = time.monotonic()
                    while True:
                        row = conn.execute(
                            "SELECT payload ->> 'outcome' FROM realtime.messages"
                            " WHERE topic = 'mockbook:admin'"
                            " AND (payload ->> 'request_id')::bigint = %s",
                            (asked["request_id"],)).fetchone()
                        if row is not None or time.monotonic() - committed > 60:
                            break
                        time.sleep(0.01)
                    lags.append(time.monotonic() - committed)
                    now = scalar(url, "SELECT capacity FROM hubspot_sync.hubspot_mock_exams"
                                      " WHERE hubspot_id = %s", (exam,))
                    if row is None or row[0] != "applied" or now != capacity:
                        wrong.append(f"request {asked['request_id']}: {row}, capacity {now}")
                    time.sleep(max(every - (time.monotonic() - committed), 0))
        finally:
            stop.set()
            proc.terminate()
            proc.wait(60)
            log_file.close()
        ordered = sorted(lags)
        out.update(
            p50_s=round(ordered[len(ordered) // 2], 3),
            p95_s=round(ordered[max(int(len(ordered) * 0.95) - 1, 0)], 3),
            max_s=round(ordered[-1], 3), lags_s=[round(x, 3) for x in lags],
            bookings_made=len(booked), wrong=wrong,
            hubspot_calls=sb.stats["calls"],
            target_s=2.0)
        out["passed"] = not wrong and out["p95_s"] <= 2.0
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="8,32", help="client counts (default 8,32)")
    parser.add_argument("--rounds", type=int, default=3, help="ABBA rounds (default 3)")
    parser.add_argument("--leg", type=int, default=8, help="seconds of one leg (default 8)")
    parser.add_argument("--results", type=Path, default=abba.RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--no-rush", action="store_true", help="leave out the rush")
    parser.add_argument("--quiet-wait", type=float, default=300, metavar="SECONDS")
    parser.add_argument("--refresh", action="store_true", help="B16 instead of B17")
    parser.add_argument("--requests", type=int, default=40, help="B16's requests (default 40)")
    parser.add_argument("--every", type=float, default=1.25, metavar="SECONDS",
                        help="B16: seconds between requests (default 1.25)")
    args = parser.parse_args(argv)
    args.clients = [int(n) for n in args.clients.split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, stamp = time.monotonic(), datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if args.refresh:
        b16 = {"stamp": stamp, "what": "B16: request_refresh -> applied and broadcast",
               "server": server_info(), "cores": os.cpu_count(),
               "commit": abba.git("rev-parse", "HEAD"),
               "load_average_before": abba.load_average()}
        b16 |= refresh_latency(args.requests, args.every)
        b16["load_average_after"] = abba.load_average()
        b16["duration_s"] = round(time.monotonic() - started, 1)
        path = args.results / f"{stamp}-refresh.json"
        args.results.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(b16, indent=2, default=str) + "\n")
        log(f"B16: p50 {b16['p50_s']} s, p95 {b16['p95_s']} s, max {b16['max_s']} s over "
            f"{args.requests} requests, {b16['bookings_made']} bookings pushed meanwhile; "
            f"wrong: {b16['wrong'] or 'none'}; wrote {path}")
        return 0 if b16["passed"] else 1
    server = server_info()
    binary = pgbench.find_pgbench(server["version_num"] // 10000)
    quiet, waited = abba.wait_for_quiet(args.quiet_wait, os.cpu_count() or 1)
    name = f"mockbook_b17_{os.getpid()}"
    url = url_for(name)
    run: dict[str, Any] = {"stamp": stamp, "what": "B17: create_booking, broadcasts on ÷ off, ABBA",
                           "leg_seconds": args.leg, "rounds": args.rounds,
                           "script": "fixtures.SPREAD_SCRIPT (B1's spread booking)",
                           "server": server, "cores": os.cpu_count(),
                           "commit": abba.git("rev-parse", "HEAD"),
                           "uncommitted_db": bool(abba.git("status", "--porcelain", "--", "db")),
                           "load_average_before": abba.load_average(), "quiet_at_start": quiet,
                           "waited_for_quiet_s": waited, "target": 0.95}
    try:
        recreate_database(name)
        build(url)
        for on in (False, True):  # warm both states' plans and functions
            switch(url, on)
            abba.leg(binary, url, min(args.clients), abba.WARM_UP_SECONDS)
        run["figures"] = [compare(binary, url, n, args.rounds, args.leg) for n in args.clients]
        if not args.no_rush:
            run["rush"] = rush(url, binary)
        run["invariants"] = abba.invariants(url)
    finally:
        if not args.keep:
            with psycopg.connect(admin_url(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run["load_average_after"] = abba.load_average()
    run["duration_s"] = round(time.monotonic() - started, 1)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{stamp}-broadcasts.json"
    path.write_text(json.dumps(run, indent=2, default=str) + "\n")
    for fig in run["figures"]:
        if "error" in fig and "ratio" not in fig:
            log(f"  {fig['clients']:>3} clients: ERROR {fig['error']}")
            continue
        log(f"  {fig['clients']:>3} clients: B17 on ÷ off = {fig['ratio']} (rounds "
            f"{', '.join(map(str, fig['round_ratios']))}; off {fig['base_tps']:,} tps, on "
            f"{fig['subject_tps']:,} tps; CPU a booking off {fig['base_cpu_us_per_booking']} µs, "
            f"on {fig['subject_cpu_us_per_booking']} µs)"
            + (f" ERROR {fig['error']}" if "error" in fig else ""))
    if "rush" in run:
        r = run["rush"]
        log(f"  rush: {r['bookings']} bookings, {r['seats_messages']} seats messages, each seat "
            f"change once in commit order: {r['each_seat_change_once_in_commit_order']}, "
            f"{r['winners_booking_messages']} booking messages to {r['winners_topics']} topics")
    log(f"wrote {path}")
    broken = [f for f in run["figures"] if "error" in f] or [
        v for v in run["invariants"] if not v.startswith("not ")] or (
        "rush" in run and not run["rush"]["passed"])
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
