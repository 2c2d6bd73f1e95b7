"""B12: the worker on a backlog, under the sandbox's faults (10 % 5xx, 150 ms latency, 5 % lost
answers), HubSpot's rate limit (100 per 10 s) and the worker's default settings.

- **B12f**: a worker started on a backlog of BACKLOG_ROWS outbox rows completes its first rows
  within 2 s of its `starting` log line (first ``done_at`` of the outbox - the line's time).
- **B12l**: p95 lag (commit -> HubSpot's answer to the first upsert carrying the booking) of
  bookings made at 20 per second for LAG_SECONDS while that worker drains the backlog.
- **B12k**: a new backlog; ten lives of a worker SIGKILLed 5 s after its `starting` line (each
  next one gives back the leases of the dead one: glue.run.worker); a life made progress when an
  outbox row was done during it. The figure is the lives that made progress (target 10 of 10).

- **B12n**: the notes claim (claim_audit_notes(100), rolled back) with NOTES_WAITING pending audit
  rows whose bookings are not in HubSpot (after an outage) ahead of 100 ready ones, against the
  same claim with no such rows (the reference): the ratio of the medians (target <= 2). The rows
  are set aside by the claims first (each call bounded); their total time is reported.

`mockbook worker` runs as a subprocess on a database of its own (BACKLOG_DB, built like the
bench's) against an in-process Sandbox(conformance=False, rate_limit=100, rate_window=10). The
students and exams are created in the sandbox and imported by `mockbook pull`; the backlog is
made of create_booking calls while no worker runs. Standalone: ``bench/worker_backlog.py
[--quick]`` prints the figures as JSON; ``bench/run.py --only B12`` records them. With
``MOCKBOOK_BENCH_WORKER_LOGS=DIR`` each worker's log (its JSON lines) is kept there: ``worker.log``
(B12f/B12l), ``life1.log`` ... ``life10.log`` (B12k).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fixtures
import psycopg
from common import Figure, admin_url, log, not_measured, percentile, recreate_database

BACKLOG_DB = "mockbook_bench_backlog"
NOTES_DB = "mockbook_bench_notes"
NOTES_WAITING = 500_000
NOTES_BOOKINGS = 500  # the bookings not in HubSpot the waiting rows are of
BACKLOG_ROWS = 10_000
EXAMS = 5
LAG_RATE = 20.0  # bookings per second
LAG_SECONDS = 30
LIVES = 10
KILL_AFTER = 5.0  # seconds after `starting`
ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-backlog-token"
BOOK = ("SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s, "
        "p_mock_exam_id := %s, p_idempotency_key := %s, p_attending_location := 'mississauga')")


def _pending(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM hubspot_sync.sync_queue "
                            "WHERE done_at IS NULL AND dead_at IS NULL").fetchone()[0]


def _book(conn: psycopg.Connection, student: str, exam: str) -> dict[str, Any]:
    with conn.transaction():
        conn.execute(fixtures.POSTGREST_PREAMBLE)
        (result,) = conn.execute(BOOK, (student, f"{student.lower()}@example.com", exam,
                                        f"backlog-{student}-{exam}")).fetchone()
    return result


def _backlog(url: str, students: list[str], exams: list[str]) -> int:
    """Book students (round-robin over the exams) until BACKLOG_ROWS rows are pending; the
    number of bookings made."""
    made = 0
    with psycopg.connect(url, autocommit=True) as conn:
        for student in students:
            _book(conn, student, exams[made % len(exams)])
            made += 1
            if made % 200 == 0 and _pending(url) >= BACKLOG_ROWS:
                break
    return made


def _visible_at(requests: list[dict], bookings_type: str) -> dict[str, float]:
    seen: dict[str, float] = {}
    for r in requests:
        if not r["path"].endswith("/batch/upsert") or f"/{bookings_type}/" not in r["path"]:
            continue
        if r.get("status") not in (200, 201, 207):
            continue
        for item in (r.get("json") or {}).get("inputs") or []:
            code = item.get("id")
            if code and code not in seen:
                seen[code] = r["time"] + (r.get("duration") or 0.0)
    return seen


class Worker:
    """A `mockbook worker` subprocess (its default name: host:pid:random) logging JSON lines."""

    def __init__(self, env: dict[str, str], label: str = "worker") -> None:
        self.label = label
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in stop/kill)
            "w+", prefix="mockbook-bench-backlog-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from glue.cli import main; main()", "worker"],
            env=env, cwd=str(ROOT), stdout=self.log, stderr=subprocess.STDOUT)

    def started_at(self, timeout: float = 60.0) -> float:
        """The time (epoch) of the `starting` line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in Path(self.log.name).read_text().splitlines():
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == "start":
                    return datetime.fromisoformat(event["ts"]).timestamp()
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"no `starting` line: {Path(self.log.name).read_text()[-800:]}")

    def end(self, sig: int) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        text = Path(self.log.name).read_text()
        if keep := os.environ.get("MOCKBOOK_BENCH_WORKER_LOGS"):  # a folder to keep the logs in
            Path(keep).mkdir(parents=True, exist_ok=True)
            Path(keep, f"{self.label}.log").write_text(text)
        os.unlink(self.log.name)
        return text


def _first_done_after(url: str, since: float, timeout: float = 120.0) -> float | None:
    """Epoch of the first outbox row done after ``since`` (polled until one is)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (first,) = conn.execute(
                "SELECT min(done_at) FROM hubspot_sync.sync_queue WHERE done_at >= %s",
                (datetime.fromtimestamp(since, UTC),)).fetchone()
            if first is not None:
                return first.timestamp()
            time.sleep(0.05)
    return None


def _done_between(url: str, start: float, end: float) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM hubspot_sync.sync_queue WHERE done_at >= %s AND done_at < %s",
            (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))).fetchone()[0]


def b12(quick: bool, schema_source: str) -> list[Figure]:
    try:
        from glue.sandbox import BOOKINGS, CONTACTS, Sandbox
        from glue.sandbox import EXAMS as EXAM_TYPE
    except Exception as exc:
        return [not_measured("B12f", "B12", "worker on a backlog", f"glue not importable: {exc}")]
    lag_seconds = 15 if quick else LAG_SECONDS
    url = recreate_database(BACKLOG_DB)
    fixtures.build(url, schema_source)
    with psycopg.connect(url, autocommit=True) as conn:
        (day0,) = conn.execute("SELECT hubspot_sync.business_today() + 10").fetchone()
    prefix = f"Q{uuid.uuid4().hex[:5].upper()}"
    # enough for two backlogs (one booking queues ~3 rows) and the bookings at LAG_RATE
    count = 2 * (BACKLOG_ROWS // 2) + int(LAG_RATE * lag_seconds) + 200
    students = [f"{prefix}{i}" for i in range(count)]
    figures: list[Figure] = []
    with Sandbox(conformance=False, setup=True, rate_limit=100, rate_window=10.0,
                 access_token=TOKEN) as sb:
        exams = sb.seed(EXAM_TYPE, [{
            "mock_exam_name": f"backlog exam {k}", "mock_type": "Situational Judgment",
            "exam_date": str(day0 + timedelta(days=k)), "start_time": "09:00",
            "end_time": "12:00", "location": "mississauga", "capacity": "100000",
            "total_bookings": "0", "is_active": "true", "mock_set": "A"} for k in range(EXAMS)])
        sb.seed(CONTACTS, [{
            "email": f"{s.lower()}@example.com", "student_id": s, "firstname": s,
            "lastname": "Backlog", "sj_credits": "4", "cs_credits": "0", "sjmini_credits": "0",
            "mock_discussion_token": "0", "shared_mock_credits": "0"} for s in students])
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",
                                                                 "MOCKBOOK_SCHEMA_SOURCE")}
        env.update(DATABASE_URL=url, HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_BASE_URL=sb.base_url,
                   HUBSPOT_RATE_LIMIT="100", HUBSPOT_RATE_WINDOW_SECONDS="10",
                   HUBSPOT_TIMEOUT_SECONDS="10", MOCKBOOK_WORKER_PULL_SECONDS="3600")
        log(f"B12: importing {count} students and {EXAMS} exams (`mockbook pull`)")
        pulled = subprocess.run([sys.executable, "-c", "from glue.cli import main; main()",
                                 "pull"], env=env, cwd=str(ROOT), capture_output=True,
                                text=True, timeout=600)
        if pulled.returncode != 0:
            raise RuntimeError(f"pull failed: {pulled.stdout[-400:]}{pulled.stderr[-400:]}")
        free = iter(students)

        def take(n: int) -> list[str]:
            return [next(free) for _ in range(n)]

        made = _backlog(url, take(BACKLOG_ROWS // 2), exams)
        rows = _pending(url)
        log(f"B12f/B12l: {made} bookings made with no worker: {rows} outbox rows pending; "
            f"faults on; worker started; {LAG_RATE:g} bookings/s for {lag_seconds} s")
        sb.faults.error_rate, sb.faults.latency, sb.faults.lost_response_rate = 0.10, 0.15, 0.05
        worker = Worker(env)
        commits: dict[str, float] = {}
        try:
            started = worker.started_at()
            with psycopg.connect(url, autocommit=True) as conn:
                t0 = time.monotonic()
                for k, student in enumerate(take(int(LAG_RATE * lag_seconds))):
                    pause = t0 + k / LAG_RATE - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    result = _book(conn, student, exams[k % EXAMS])
                    commits[result["booking_id"]] = time.time()
            first = _first_done_after(url, started)
            deadline = time.monotonic() + 300
            drained_in = None
            while time.monotonic() < deadline:
                if drained_in is None and _pending(url) == 0:
                    drained_in = time.time() - started
                if set(commits) <= set(_visible_at(sb.requests, BOOKINGS)) and drained_in:
                    break
                time.sleep(0.5)
        finally:
            worker_log = worker.end(signal.SIGTERM)
        visible = _visible_at(sb.requests, BOOKINGS)
        lags = [visible[c] - t for c, t in commits.items() if c in visible]
        how_common = (f"`mockbook worker` (subprocess, default settings) on {BACKLOG_DB} "
                      "against an in-process Sandbox(conformance=False, rate_limit=100, "
                      "rate_window=10) with its faults from the worker's start: 10 % of calls "
                      "a 5xx, 150 ms latency, 5 % applied with their answer lost. ")
        fig = Figure(
            id="B12f", bench="B12", title="worker on a backlog: first rows done after `starting`",
            value=round(first - started, 3) if first else None, unit="s", target=2.0,
            target_op="<=",
            how=how_common + f"Backlog: {made} create_booking calls made before the worker "
                f"started ({rows} outbox rows). Value = first done_at of the outbox - the time "
                "of the worker's `starting` log line.")
        fig.details.update(backlog_rows=rows, backlog_bookings=made,
                           drained_after_start_s=round(drained_in, 1) if drained_in else None,
                           worker_log_head=worker_log[:2500],
                           worker_log_tail=worker_log[-1200:])
        if first is None:
            fig.status, fig.note = "error", "no row done within 120 s"
        figures.append(fig.judge())
        p = {q: round(percentile(lags, q), 3) for q in (50, 95, 99)}
        missing = len(commits) - len(lags)
        lag = Figure(
            id="B12l", bench="B12", title=f"sync lag at {LAG_RATE:g}/s while the worker drains "
                                          "a backlog, under faults",
            value=p[95], unit="s p95",
            how=how_common + f"{len(commits)} create_booking calls at {LAG_RATE:g}/s from the "
                "worker's `starting` line on, while it drains B12f's backlog. Lag = HubSpot's "
                "answer to the first upsert carrying the booking - the commit. No target: "
                "reported.",
            note=f"{missing} bookings not in HubSpot within 300 s" if missing else "")
        lag.details.update(lag_s=p, bookings=len(commits), missing=missing,
                           lag_max_s=round(max(lags), 3) if lags else None)
        figures.append(lag)
        log(f"  B12f: first rows {fig.value} s after `starting` ({rows} rows pending); "
            f"B12l: lag p50/95/99 {p} s; drained {fig.details['drained_after_start_s']} s "
            "after `starting`")

        made = _backlog(url, take(BACKLOG_ROWS // 2), exams)
        rows = _pending(url)
        log(f"B12k: a new backlog, {made} bookings, {rows} rows; {LIVES} lives killed "
            f"{KILL_AFTER:g} s after `starting`")
        lives: list[dict[str, Any]] = []
        for n in range(LIVES):
            worker = Worker(env, f"life{n + 1}")
            try:
                started = worker.started_at()
                time.sleep(max(0.0, started + KILL_AFTER - time.time()))
            finally:
                worker.end(signal.SIGKILL)
            killed = time.time()
            lives.append({"done": _done_between(url, started, killed),
                          "pending_after": _pending(url)})
        progressed = sum(1 for life in lives if life["done"] > 0)
        kills = Figure(
            id="B12k", bench="B12", title=f"worker killed {KILL_AFTER:g} s after `starting`: "
                                          f"lives with progress, of {LIVES}",
            value=progressed, unit=f"of {LIVES}", target=1.0, target_op=">=",
            ratio=progressed / LIVES, ratio_meaning="lives with progress / lives",
            how=how_common + f"A new backlog of {made} bookings ({rows} rows); then {LIVES} "
                f"workers one after the other, each SIGKILLed {KILL_AFTER:g} s after its "
                "`starting` line (the next one gives back the dead one's leases). A life made "
                "progress when an outbox row was done between its `starting` line and its kill.")
        kills.details.update(lives=lives, backlog_rows=rows)
        figures.append(kills.judge())
        log(f"  B12k: {progressed} of {LIVES} lives made progress: "
            f"{[life['done'] for life in lives]} rows done")
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BACKLOG_DB}" WITH (FORCE)')
    return figures


def _claim_ms(conn: psycopg.Connection, runs: int = 7) -> tuple[float, int]:
    """Median ms of claim_audit_notes(100), each rolled back, and the notes one returned."""
    times, notes = [], 0
    for _ in range(runs):
        with conn.transaction(force_rollback=True):
            t = time.perf_counter()
            notes = len(conn.execute(
                "SELECT * FROM mockbook_internal.claim_audit_notes(100)").fetchall())
            times.append((time.perf_counter() - t) * 1000)
    return sorted(times)[len(times) // 2], notes


def b12n(quick: bool, schema_source: str) -> Figure:
    """B12n (module docstring): the notes claim behind a backlog waiting for HubSpot ids."""
    waiting = NOTES_WAITING // 10 if quick else NOTES_WAITING
    url = recreate_database(NOTES_DB)
    fixtures.build(url, schema_source)
    fixtures.load(url)
    ready_sql = """INSERT INTO hubspot_sync.supabase_audit_log
        (table_name, record_id, operation, changed_fields, old_values, new_values, performed_by)
        SELECT 'hubspot_bookings', b.id, 'UPDATE', '["attendance"]', '{"attendance": null}',
               '{"attendance": "Yes"}', 'admin@school.ca'
        FROM hubspot_sync.hubspot_bookings AS b, generate_series(1, %s)
        WHERE b.student_id = ANY (%s)"""
    with psycopg.connect(url, autocommit=True) as conn:
        students = [f"B{n}" for n in range(NOTES_BOOKINGS + 1)]
        for k, student in enumerate(students):
            _book(conn, student, f"BX{k % 7}")
        # the first booking is in HubSpot (its notes are ready); the others are not
        conn.execute("BEGIN")
        conn.execute("SELECT set_config('mockbook.origin', 'sync', true)")
        conn.execute("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = 'BN0' "
                     "WHERE student_id = 'B0'")
        conn.execute("COMMIT")
        conn.execute("UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now()")
        conn.execute(ready_sql, (100, ["B0"]))
        conn.execute("VACUUM (ANALYZE) hubspot_sync.supabase_audit_log")
        reference, ref_notes = _claim_ms(conn)
        conn.execute("UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now()")
        log(f"B12n: {waiting:,} audit rows of {NOTES_BOOKINGS} bookings not in HubSpot, then "
            "100 ready ones")
        conn.execute(ready_sql, (waiting // NOTES_BOOKINGS, students[1:]))
        conn.execute(ready_sql, (100, ["B0"]))
        conn.execute("VACUUM (ANALYZE) hubspot_sync.supabase_audit_log")
        calls, aside_s, longest = 0, 0.0, 0.0
        while True:  # the claims set the waiting rows aside, each call bounded
            t = time.perf_counter()
            got = conn.execute("SELECT count(*) FROM mockbook_internal.claim_audit_notes(100)"
                               ).fetchone()[0]
            took = time.perf_counter() - t
            calls, aside_s, longest = calls + 1, aside_s + took, max(longest, took)
            if got:  # the ready rows came out: nothing left ahead of them
                break
        (aside,) = conn.execute("SELECT count(*) FROM hubspot_sync.supabase_audit_log "
                                "WHERE note_waits").fetchone()
        conn.execute("VACUUM (ANALYZE) hubspot_sync.supabase_audit_log")
        measured, notes = _claim_ms(conn)
        (load1,) = os.getloadavg()[:1]
    fig = Figure(
        id="B12n", bench="B12", title=f"notes claim behind {waiting:,} rows waiting for "
                                      "HubSpot ids / with none",
        value=round(measured / reference, 2), unit="x the reference", reference=None,
        ratio=measured / reference, ratio_meaning="claim time with the waiting rows / without",
        target=2.0, target_op="<=",
        how=f"claim_audit_notes(100) on {NOTES_DB} (the bench fixture), each call rolled back, "
            f"median of 7: with {waiting:,} pending audit rows of {NOTES_BOOKINGS} bookings "
            "that have no HubSpot id ahead of 100 ready rows (after the claims set them aside), "
            "against 100 ready rows alone (reference).")
    fig.details.update(claim_ms=round(measured, 2), reference_ms=round(reference, 2),
                       notes_returned=notes, reference_notes=ref_notes, set_aside=aside,
                       set_aside_calls=calls, set_aside_total_s=round(aside_s, 2),
                       set_aside_longest_call_s=round(longest, 2), load_average_1m=load1)
    if notes != 100 or ref_notes != 100:
        fig.status, fig.note = "error", f"{notes}/{ref_notes} notes returned, not 100"
    log(f"  B12n: {measured:.1f} ms vs {reference:.1f} ms ({measured / reference:.2f}x); "
        f"set aside {aside:,} rows in {calls} calls, {aside_s:.1f} s (longest {longest:.2f} s)")
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{NOTES_DB}" WITH (FORCE)')
    return fig.judge() if fig.status == "measured" else fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--schema-source", choices=("alembic", "db"), default="alembic")
    parser.add_argument("--only", choices=("B12", "B12n"), help="one part (default: both)")
    args = parser.parse_args(argv)
    figures = [] if args.only == "B12n" else b12(args.quick, args.schema_source)
    if args.only != "B12":
        figures.append(b12n(args.quick, args.schema_source))
    print(json.dumps([f.as_dict() for f in figures], indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
