"""B1-B7 of the benchmark method. Each function returns Figures: the measured value, its
reference measured
in the same run on the same server, the ratio, the target and how it was measured.

Throughput pairs (B1, B2, B4, and the profile) run in ABBA order, reference - subject -
subject - reference, each leg `leg` seconds, and average the two legs of each side: a drift of
the machine during the pair (other sessions, a checkpoint, autovacuum) weighs on both sides
alike. Both sides are driven by pgbench in prepared mode, so the driver is the same C client.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import cpu_profile
import fixtures
import pgbench
import psycopg
from common import (
    Figure,
    admin_url,
    connection_budget,
    log,
    median,
    not_measured,
    percentile,
    recreate_database,
    timed,
)
from pgbench import PgbenchResult


@dataclass
class Context:
    url: str  # the bench database (mockbook_bench)
    pgbench_url: str  # the TPC-B reference database (mockbook_bench_pgbench)
    pgbench_bin: str
    leg: int  # seconds of one pgbench leg (a pair is four legs)
    quick: bool
    rounds: int = 1  # ABBA pairs per ratio figure (B1, B1r, B2, B2h, B4), their legs pooled
    clients: list[int] = field(default_factory=lambda: [8, 32, 128])
    tpcb_scale: int = 128
    notes: list[str] = field(default_factory=list)

    @property
    def legs(self) -> str:
        """The legs of one ratio figure, as its text says them."""
        return f"{4 * self.rounds} x {self.leg} s"


# ---- helpers -------------------------------------------------------------------------------
def _checkpoint(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def _bookings(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings").fetchone()[0]


def _clients(ctx: Context, wanted: int) -> tuple[int, str]:
    got = connection_budget(wanted)
    if got < wanted:
        return got, (f"{wanted} clients requested, ran {got}: the server's max_connections "
                     "(minus reserved slots, open sessions and a margin of 10) allows no more")
    return got, ""


# days for one figure's hot exams: two legs per ABBA round, at most MAX_ROUNDS rounds
MAX_ROUNDS = 10
HOT_LEG_DAYS = 2 * MAX_ROUNDS + 5


def _hot_exams(ctx: Context, base: str, first_day: int) -> Callable[[], str]:
    """A fresh hot exam (capacity 100,000,000) for each leg, each on a day of its own: a
    student books one exam per type and day, and a leg books up to one per student."""
    legs = itertools.count()

    def next_exam() -> str:
        k = next(legs)
        exam = f"{base}-{k}"
        with psycopg.connect(ctx.url, autocommit=True) as conn:
            fixtures.add_exam(conn, exam, first_day + k, 100_000_000)
        return exam
    return next_exam


@dataclass
class Pair:
    reference: list[PgbenchResult]
    subject: list[PgbenchResult]

    @property
    def failed(self) -> list[PgbenchResult]:
        return [r for r in self.reference + self.subject if not r.ok]

    @property
    def reference_tps(self) -> float:
        return statistics.fmean(r.tps for r in self.reference)

    @property
    def subject_tps(self) -> float:
        return statistics.fmean(r.tps for r in self.subject)

    def round_ratios(self) -> list[float]:
        """Each ABBA round's own ratio (its two subject legs ÷ its two reference legs): their
        spread is the run's noise."""
        return [round(statistics.fmean(r.tps for r in self.subject[k:k + 2])
                      / statistics.fmean(r.tps for r in self.reference[k:k + 2]), 3)
                for k in range(0, len(self.reference), 2)]

    def legs(self) -> dict[str, Any]:
        return {
            "round_ratios": self.round_ratios(),
            "reference_legs_tps": [r.tps for r in self.reference],
            "subject_legs_tps": [r.tps for r in self.subject],
            "reference_latency_ms": [r.latency_ms for r in self.reference],
            "subject_latency_ms": [r.latency_ms for r in self.subject],
            "subject_transactions": sum(r.transactions or 0 for r in self.subject),
        }


def abba(reference: Callable[[], PgbenchResult], subject: Callable[[], PgbenchResult],
         rounds: int = 1) -> Pair:
    """`rounds` ABBA rounds (reference, subject, subject, reference), legs pooled; stops at
    the first failed leg."""
    pair = Pair([], [])
    for _ in range(rounds):
        ref1 = reference()
        sub1 = subject()
        sub2 = subject()
        ref2 = reference()
        pair.reference += [ref1, ref2]
        pair.subject += [sub1, sub2]
        if pair.failed:
            break
    return pair


def _pair_failure(fig: Figure, pair: Pair) -> Figure:
    bad = pair.failed[0]
    fig.status = "error"
    fig.note = bad.describe()
    fig.details["pgbench_output_tail"] = bad.output[-2000:]
    return fig


def _ratio_pair(ctx: Context, fig: Figure, n: int, reference: Callable[[], PgbenchResult],
                subject: Callable[[], PgbenchResult], subject_books: bool = True,
                reference_books: bool = False) -> Figure:
    """One ABBA pair on the bench database, judged; every transaction of a booking leg must
    have booked (a leg whose calls were refused measured something else)."""
    before = _bookings(ctx.url)
    _checkpoint(ctx.url)
    pair = abba(reference, subject, ctx.rounds)
    made = _bookings(ctx.url) - before
    fig.details.update(clients=n, bookings_at_start=before, bookings_made=made)
    if pair.failed:
        return _pair_failure(fig, pair)
    fig.details.update(pair.legs())
    expected = (fig.details["subject_transactions"] if subject_books else 0) + (
        sum(r.transactions or 0 for r in pair.reference) if reference_books else 0)
    if made != expected:
        fig.status = "error"
        fig.note = f"{expected} transactions but {made} bookings: some calls did not book"
    fig.value, fig.reference = round(pair.subject_tps, 1), round(pair.reference_tps, 1)
    fig.ratio = round(pair.subject_tps / pair.reference_tps, 3)
    log(f"  {fig.id}: {fig.value} / {fig.reference} = {fig.ratio}")
    return fig.judge()


# ---- B1 ------------------------------------------------------------------------------------
def b1(ctx: Context) -> list[Figure]:
    figures = []
    for wanted in ctx.clients:
        n, capped = _clients(ctx, wanted)
        fig = Figure(
            id=f"B1@{wanted}", bench="B1",
            title=f"booking throughput, spread over {fixtures.SPREAD_EXAMS} exams, "
                  f"{wanted} clients",
            unit="tps", reference_unit="tps", reference_name="pgbench TPC-B (tpcb-like)",
            ratio_meaning="create_booking tps / TPC-B tps", target=0.35)
        log(f"B1 {n} clients: TPC-B vs create_booking, {ctx.legs}")
        fig.how = (f"pgbench -M prepared -c {n} -j {min(2, n)}, ABBA {ctx.legs}. "
                   f"Subject: one PostgREST-style transaction per booking (BEGIN; set_config "
                   f"role/claims/method; SELECT hubspot_sync.create_booking(...); END) on "
                   f"{fixtures.STUDENTS:,} students x {fixtures.SPREAD_EXAMS:,} exams (student "
                   f"n mod {fixtures.STUDENTS}, exam n mod {fixtures.SPREAD_EXAMS}), all triggers "
                   f"on. Reference: built-in tpcb-like at scale {ctx.tpcb_scale} (>= clients), "
                   f"pgbench's vacuum before each leg.")
        fig.note = capped
        fig.details.update(clients_requested=wanted)
        figures.append(_ratio_pair(
            ctx, fig, n,
            lambda n=n: pgbench.run(ctx.pgbench_bin, ctx.pgbench_url, clients=n,
                                    seconds=ctx.leg, builtin="tpcb-like", vacuum=True),
            lambda n=n: pgbench.run(ctx.pgbench_bin, ctx.url, clients=n, seconds=ctx.leg,
                                    script=fixtures.SPREAD_SCRIPT)))
    return [*figures, _b1_scaling(figures)]


def _b1_scaling(figures: list[Figure]) -> Figure:
    """B1 at the most clients ÷ B1 at the fewest: B1 must not collapse with clients."""
    first, last = figures[0], figures[-1]
    title = (f"B1 at the most clients ÷ B1 at {first.details.get('clients_requested')}: "
             f"the ratio to TPC-B holds with clients")
    if first.ratio is None or last.ratio is None or first is last:
        return not_measured("B1-scaling", "B1", title,
                            "needs B1 measured at two client counts", target=0.9)
    fig = Figure(
        id="B1-scaling", bench="B1", title=title, value=last.ratio, unit="B1 ratio",
        reference=first.ratio, reference_unit="B1 ratio",
        reference_name=f"B1 at {first.details.get('clients')} clients",
        ratio=round(last.ratio / first.ratio, 3),
        ratio_meaning=f"{last.id} ÷ {first.id}", target=0.9,
        how=f"{last.id}'s ratio ÷ {first.id}'s, from B1's own legs (no further measurement).",
        note=last.note)
    fig.details.update(clients=last.details.get("clients"),
                       reference_clients=first.details.get("clients"))
    return fig.judge()


# ---- B1r, B2h: the booking against its own limits ------------------------------------------
def b1r(ctx: Context) -> list[Figure]:
    """create_booking ÷ the rows it writes, written by plain SQL in the same PostgREST-style
    transaction with the same triggers (fixtures.RAW_WRITES_SCRIPT): what the checks and
    helpers cost beyond the row model's own limit, at 8, 32 and the most clients allowed."""
    figures = []
    most = connection_budget(10_000)
    for label, wanted in (("8", 8), ("32", 32), ("N", most)):
        n, capped = _clients(ctx, wanted)
        fig = Figure(
            id=f"B1r@{label}", bench="B1r",
            title=f"booking ÷ its own rows as plain SQL, spread, {n} clients",
            unit="tps", reference_unit="tps",
            reference_name="the same rows by plain SQL, triggers on (no checks)",
            ratio_meaning="create_booking tps / raw-writes tps", target=0.8)
        fig.how = (f"pgbench -M prepared -c {n} -j {min(2, n)}, ABBA {ctx.legs} on the "
                   f"bench database. Subject: B1's spread create_booking transaction. "
                   f"Reference: one transaction with the same request settings writing the "
                   f"booking, the contact's credit, its ledger row and the exam's total "
                   f"(record_row_change firing as for a booking), no checks.")
        fig.note = capped
        log(f"B1r {n} clients: raw writes vs create_booking, {ctx.legs}")
        figures.append(_ratio_pair(
            ctx, fig, n,
            lambda n=n: pgbench.run(ctx.pgbench_bin, ctx.url, clients=n, seconds=ctx.leg,
                                    script=fixtures.RAW_WRITES_SCRIPT),
            lambda n=n: pgbench.run(ctx.pgbench_bin, ctx.url, clients=n, seconds=ctx.leg,
                                    script=fixtures.SPREAD_SCRIPT),
            reference_books=True))
    return figures


def b2h(ctx: Context) -> list[Figure]:
    """Hot exam ÷ spread at the same client count: what the one exam's lock costs beyond the
    work itself (both legs are create_booking)."""
    figures = []
    for k, wanted in enumerate((8, 32)):
        n, capped = _clients(ctx, wanted)
        exam = f"BHH{k}"
        hot_exam = _hot_exams(ctx, exam, fixtures.HOT_DAY_OFFSET + 400 + HOT_LEG_DAYS * k)
        fig = Figure(
            id=f"B2h@{wanted}", bench="B2h",
            title=f"hot exam ÷ spread, {n} clients",
            unit="tps", reference_unit="tps", reference_name="create_booking spread (B1's)",
            ratio_meaning="create_booking tps on one exam / spread tps", target=0.8)
        fig.how = (f"pgbench -M prepared -c {n} -j {min(2, n)}, ABBA {ctx.legs}. Subject: "
                   f"every call on one exam ({exam}-0, -1, ...: a new one each leg; capacity "
                   f"100,000,000), a different student "
                   f"each call. Reference: the same transaction spread over "
                   f"{fixtures.SPREAD_EXAMS} exams.")
        fig.note = capped
        log(f"B2h {n} clients: spread vs hot create_booking, {ctx.legs}")
        figures.append(_ratio_pair(
            ctx, fig, n,
            lambda n=n: pgbench.run(ctx.pgbench_bin, ctx.url, clients=n, seconds=ctx.leg,
                                    script=fixtures.SPREAD_SCRIPT),
            lambda n=n, hot_exam=hot_exam: pgbench.run(ctx.pgbench_bin, ctx.url, clients=n,
                                                       seconds=ctx.leg,
                                                       script=fixtures.hot_script(hot_exam())),
            reference_books=True))
    return figures


# ---- B8 ------------------------------------------------------------------------------------
B8_CLIENTS = (1, 2, 4, 8, 16, 32, 64)


def b8(ctx: Context) -> list[Figure]:
    """Scaling: B1's workload and reference at 1, 2, 4 ... 64 clients (ABBA each), so the curve
    shows where the booking stops using more clients. No target of its own: the figure is
    the curve (results/<stamp>-scaling.png) and the ratio at each client count."""
    figures = []
    for wanted in B8_CLIENTS:
        n, capped = _clients(ctx, wanted)
        fig = Figure(
            id=f"B8@{wanted}", bench="B8",
            title=f"scaling: B1's workload at {wanted} client(s)",
            unit="tps", reference_unit="tps", reference_name="pgbench TPC-B (tpcb-like)",
            ratio_meaning="create_booking tps / TPC-B tps", target=None)
        log(f"B8 {n} clients: TPC-B vs create_booking, {ctx.legs}")
        fig.how = (f"as B1 (pgbench -M prepared -c {n} -j {min(2, n)}, ABBA {ctx.legs}, "
                   f"the spread create_booking script against built-in tpcb-like).")
        fig.note = capped
        fig.details.update(clients_requested=wanted)
        figures.append(_ratio_pair(
            ctx, fig, n,
            lambda n=n: pgbench.run(ctx.pgbench_bin, ctx.pgbench_url, clients=n,
                                    seconds=ctx.leg, builtin="tpcb-like", vacuum=True),
            lambda n=n: pgbench.run(ctx.pgbench_bin, ctx.url, clients=n, seconds=ctx.leg,
                                    script=fixtures.SPREAD_SCRIPT)))
    return figures


# ---- B2 ------------------------------------------------------------------------------------
def b2(ctx: Context) -> list[Figure]:
    figures = []
    for k, wanted in enumerate(ctx.clients):
        n, capped = _clients(ctx, wanted)
        exam = f"BH{k}"
        hot_exam = _hot_exams(ctx, exam, fixtures.HOT_DAY_OFFSET + 100 + HOT_LEG_DAYS * k)
        fig = Figure(
            id=f"B2@{wanted}", bench="B2", title=f"hot exam, all {wanted} clients on one exam",
            unit="tps", reference_unit="tps", reference_name="pgbench one-row UPDATE",
            ratio_meaning="create_booking tps on one exam / one-row UPDATE tps", target=0.3)
        log(f"B2 {n} clients: one-row UPDATE vs create_booking on {exam}, {ctx.legs}")
        fig.how = (f"pgbench -M prepared -c {n} -j {min(2, n)}, ABBA {ctx.legs}. Subject: "
                   f"the PostgREST-style create_booking transaction, every call on one exam "
                   f"({exam}-0, -1, ...: a new one each leg; capacity 100,000,000), a different "
                   f"student each call. Reference: "
                   f"'UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1' "
                   f"(one statement, autocommit) from every client.")
        fig.note = capped
        fig.details.update(clients_requested=wanted, exam=exam)
        figures.append(_ratio_pair(
            ctx, fig, n,
            lambda n=n: pgbench.run(ctx.pgbench_bin, ctx.pgbench_url, clients=n,
                                    seconds=ctx.leg, script=fixtures.HOT_UPDATE_SCRIPT),
            lambda n=n, hot_exam=hot_exam: pgbench.run(ctx.pgbench_bin, ctx.url, clients=n,
                                                       seconds=ctx.leg,
                                                       script=fixtures.hot_script(hot_exam()))))
    return figures


# ---- B3 ------------------------------------------------------------------------------------
RUSH_STUDENTS = 2_000
RUSH_SEATS = 20
RUSH_CONNECTIONS = 64


def _rush(url: str, calls: list[tuple[str, tuple]], connections: int,
          warmup: Callable[[int], tuple[str, tuple]] | None = None,
          ) -> tuple[list[tuple[float, str | None, str | None]], float]:
    """Run every (sql, params) call, each a PostgREST-style transaction, on `connections`
    connections released together by a barrier. Before the barrier, connection k runs
    warmup(k) once (a pooled connection of PostgREST has run the functions before: their
    PL/pgSQL is compiled and their plans cached). Returns per call (seconds, error code or
    None, SQLSTATE or None) and the makespan (release to last answer)."""
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(calls)):
        todo.put(i)
    out: list[tuple[float, str | None, str | None] | None] = [None] * len(calls)
    barrier = threading.Barrier(connections + 1)
    problems: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            conn = psycopg.connect(url, autocommit=True,
                                   options="-c statement_timeout=60s")
            if warmup is not None:
                with conn.transaction():
                    conn.execute(fixtures.POSTGREST_PREAMBLE)
                    conn.execute(*warmup(k)).fetchone()
        except BaseException as exc:
            problems.append(exc)
            barrier.abort()
            return
        with conn:
            try:
                barrier.wait(timeout=120)
            except threading.BrokenBarrierError:
                return
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                sql, params = calls[i]
                start = time.perf_counter()
                code = state = None
                try:
                    with conn.transaction():
                        conn.execute(fixtures.POSTGREST_PREAMBLE)
                        conn.execute(sql, params).fetchone()
                except psycopg.Error as exc:
                    state = exc.sqlstate
                    code = exc.diag.message_primary if state and state.startswith("PT") \
                        else f"{type(exc).__name__}: {exc}"
                out[i] = (time.perf_counter() - start, code, state)

    threads = [threading.Thread(target=worker, args=(k,), name=f"rush-{k}")
               for k in range(connections)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=120)
    released = time.perf_counter()
    for t in threads:
        t.join()
    makespan = time.perf_counter() - released
    if problems:
        raise RuntimeError(f"could not open the connections: {problems[0]}")
    return [o if o is not None else (0.0, "NOT RUN", None) for o in out], makespan


def b3(ctx: Context) -> list[Figure]:
    n, capped = _clients(ctx, RUSH_CONNECTIONS)
    exam = "BRUSH"
    prefix = f"R{uuid.uuid4().hex[:6].upper()}"
    with psycopg.connect(ctx.url, autocommit=True) as conn:
        fixtures.add_exam(conn, exam, fixtures.RUSH_DAY_OFFSET, RUSH_SEATS)
        conn.execute(
            """INSERT INTO hubspot_sync.hubspot_contact_credits
                   (hubspot_id, student_id, email, firstname, lastname, sj_credits)
               SELECT 'C' || %(p)s || g, %(p)s || g, lower(%(p)s) || g || '@example.com',
                      'Rush', 'Student' || g, 1
               FROM generate_series(0, %(n)s - 1) AS g""", {"p": prefix, "n": RUSH_STUDENTS})
        fixtures.record_start_balances(conn)
    students = [f"{prefix}{g}" for g in range(RUSH_STUDENTS)]
    book_sql = ("SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s, "
                "p_mock_exam_id := %s, p_idempotency_key := %s, "
                "p_attending_location := 'mississauga')")
    calls = [(book_sql, (s, f"{s.lower()}@example.com", exam, f"rush-{s}")) for s in students]
    log(f"B3 rush: {RUSH_STUDENTS} students, {RUSH_SEATS} seats, {n} connections")
    # Warm-up: each connection books once for a student of its own on an exam of its own
    # day (not the rush exam), so the rush runs on warm connections.
    with psycopg.connect(ctx.url, autocommit=True) as conn:
        fixtures.add_exam(conn, "BWARM", fixtures.RUSH_DAY_OFFSET + 1, 100_000)
        conn.execute(
            """INSERT INTO hubspot_sync.hubspot_contact_credits
                   (hubspot_id, student_id, email, firstname, lastname, sj_credits)
               SELECT 'CW' || %(p)s || g, 'W' || %(p)s || g,
                      'w' || lower(%(p)s) || g || '@example.com', 'Warm', 'Up', 1
               FROM generate_series(0, %(n)s - 1) AS g""", {"p": prefix, "n": n})
        fixtures.record_start_balances(conn)

    def warm(k: int) -> tuple[str, tuple]:
        sid = f"W{prefix}{k}"
        return book_sql, (sid, f"{sid.lower()}@example.com", "BWARM", f"warm-{sid}")

    results, makespan = _rush(ctx.url, calls, n, warm)
    # Reference: the same driver, connections and number of transactions, each a one-row
    # UPDATE of one hot row (the least work a request on one shared row can do).
    hot = "UPDATE bench.hot_row SET n = n + 1 WHERE id = 1 RETURNING n"
    ref_results, ref_makespan = _rush(ctx.url, [(hot, ())] * RUSH_STUDENTS, n,
                                      lambda k: (hot, ()))

    codes = Counter(code for _, code, _ in results)
    winners = codes.pop(None, 0)
    unexpected = {c: k for c, k in codes.items() if c not in ("EXAM_FULL", "BUSY")}
    lat = [s * 1000 for s, _, _ in results]
    ref_lat = [s * 1000 for s, _, _ in ref_results]
    with psycopg.connect(ctx.url, autocommit=True) as conn:
        total, active, ledger, spent = conn.execute(
            """SELECT e.total_bookings,
                      (SELECT count(*) FROM hubspot_sync.hubspot_bookings AS b
                       WHERE b.associated_mock_exam = e.hubspot_id AND b.is_active = 'Active'),
                      (SELECT count(*) FROM hubspot_sync.credit_ledger AS l
                       WHERE l.student_id LIKE %s || '%%'),
                      (SELECT count(*) FROM hubspot_sync.hubspot_contact_credits AS c
                       WHERE c.student_id LIKE %s || '%%' AND c.sj_credits = 0)
               FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = %s""",
            (prefix, prefix, exam)).fetchone()
    correct = (winners == RUSH_SEATS and total == RUSH_SEATS and active == RUSH_SEATS
               and ledger == RUSH_SEATS and spent == RUSH_SEATS and not unexpected)
    p = {q: round(percentile(lat, q), 1) for q in (50, 95, 99)}
    ref_p = {q: round(percentile(ref_lat, q), 1) for q in (50, 95, 99)}
    fig = Figure(
        id="B3", bench="B3", title=f"booking rush: {RUSH_STUDENTS:,} students, {RUSH_SEATS} seats",
        value=p[95], unit="ms p95", reference=ref_p[95], reference_unit="ms p95",
        reference_name="same rush driver, one-row UPDATE of one hot row",
        ratio=round(p[95] / ref_p[95], 2) if ref_p[95] else None,
        ratio_meaning="booking p95 latency / one-row UPDATE p95 latency (informational)",
        passed=correct,
        how=(f"{RUSH_STUDENTS:,} create_booking calls (one per student, 1 SJ credit each) on one "
             f"exam of {RUSH_SEATS} seats, on {n} warm connections (threads, psycopg; each "
             f"booked once elsewhere first) released together by a barrier, pulling the calls "
             f"from one queue; each call a PostgREST-style transaction; latency per call "
             f"(queueing in the client excluded, makespan in the details). Reference: the same "
             f"driver doing {RUSH_STUDENTS:,} one-row UPDATEs of one row. Target: exactly "
             f"{RUSH_SEATS} bookings, errors only EXAM_FULL/BUSY, the exam's total, ledger and "
             f"balances right."),
        note=capped)
    fig.details.update(
        connections=n, bookings=winners, errors=dict(codes), unexpected_errors=unexpected,
        latency_ms=p, reference_latency_ms=ref_p,
        makespan_s=round(makespan, 3), reference_makespan_s=round(ref_makespan, 3),
        exam_total_bookings=total, exam_active_bookings=active, ledger_rows=ledger,
        students_charged=spent)
    log(f"  B3: {winners} bookings, errors {dict(codes)}, p50/95/99 {p} ms "
        f"(reference {ref_p} ms), correct={correct}")
    return [fig]


# ---- B4 ------------------------------------------------------------------------------------
def b4(ctx: Context) -> list[Figure]:
    wanted = 32
    n, capped = _clients(ctx, wanted)
    fig = Figure(
        id="B4", bench="B4", title=f"outbox + audit cost, {wanted} clients",
        unit="tps", reference_unit="tps", reference_name="same workload, triggers disabled",
        ratio_meaning="tps with outbox/audit triggers / tps without", target=0.85)
    log(f"B4 {n} clients: create_booking with vs without the outbox/audit triggers, "
        f"{ctx.legs}")

    def run(enabled: bool) -> PgbenchResult:
        fixtures.set_outbox_triggers(ctx.url, enabled)
        return pgbench.run(ctx.pgbench_bin, ctx.url, clients=n, seconds=ctx.leg,
                           script=fixtures.SPREAD_SCRIPT)

    before = _bookings(ctx.url)
    _checkpoint(ctx.url)
    try:
        pair = abba(lambda: run(False), lambda: run(True), ctx.rounds)
    finally:
        fixtures.set_outbox_triggers(ctx.url, True)
    fig.how = (f"the B1 workload (spread, PostgREST-style transaction) with pgbench -M prepared "
               f"-c {n} -j {min(2, n)}, ABBA {ctx.legs}: without = ALTER TABLE ... DISABLE "
               "TRIGGER record_row_change on hubspot_contact_credits, "
               "hubspot_mock_exams and hubspot_bookings (no sync_queue, no supabase_audit_log "
               "rows); with = all triggers on. A booking fires the trigger 3 "
               f"times (booking insert, contact credit update, exam total update); {before:,} "
               "bookings in the table at start.")
    fig.note = capped
    fig.details.update(clients=n, clients_requested=wanted, bookings_at_start=before)
    if pair.failed:
        return [_pair_failure(fig, pair), b4r(ctx, n, capped)]
    fig.details.update(pair.legs())
    fig.value, fig.reference = round(pair.subject_tps, 1), round(pair.reference_tps, 1)
    fig.ratio = round(pair.subject_tps / pair.reference_tps, 3)
    log(f"  B4: {fig.value} / {fig.reference} = {fig.ratio}")
    return [fig.judge(), b4r(ctx, n, capped)]


def b4r(ctx: Context, n: int, capped: str | None) -> Figure:
    """The trigger against the least its rows can cost: fixtures.BARE (the same two rows per
    change without jsonb, into copies of the two tables that keep only their primary keys)
    installed for the legs, then dropped. No target: it says how far
    record_row_change is from the floor of any design writing both rows in the booking's
    transaction, which B4's 0.85 lies beyond (docs/performance.md)."""
    fig = Figure(
        id="B4r", bench="B4", title=f"the trigger ÷ two bare rows per change, {n} clients",
        unit="tps", reference_unit="tps",
        reference_name="same workload, two bare rows per change (primary keys only, no jsonb)",
        ratio_meaning="tps with record_row_change / tps with the bare rows' trigger")
    log(f"B4r {n} clients: create_booking with record_row_change vs two bare rows per change, "
        f"{ctx.legs}")
    fig.how = (f"B4's workload (pgbench -M prepared -c {n} -j {min(2, n)}, ABBA {ctx.legs}): "
               "reference = record_row_change disabled and a trigger writing, per change, the "
               "same two rows without jsonb (table, record id, operation; performed_by, "
               "performed_at) into copies of sync_queue and supabase_audit_log that keep only "
               "their primary keys (no secondary index, no CHECK); subject = as shipped. "
               "B4 ÷ B4r is the best B4 such rows allow.")
    fig.note = capped
    with psycopg.connect(ctx.url, autocommit=True) as conn:
        conn.execute(fixtures.BARE_DROP)
        conn.execute(fixtures.BARE)
    try:
        return _ratio_pair(ctx, fig, n, lambda: _b4r_leg(ctx, n, True),
                           lambda: _b4r_leg(ctx, n, False), reference_books=True)
    finally:
        with psycopg.connect(ctx.url, autocommit=True) as conn:
            conn.execute(fixtures.BARE_DROP)
        fixtures.set_outbox_triggers(ctx.url, True)


def _b4r_leg(ctx: Context, n: int, bare: bool) -> PgbenchResult:
    fixtures.set_bare(ctx.url, bare)
    return pgbench.run(ctx.pgbench_bin, ctx.url, clients=n, seconds=ctx.leg,
                       script=fixtures.SPREAD_SCRIPT)


# ---- profile (where a booking's time goes) -------------------------------------------------
def _booking_statements(url: str, calls: int = 5) -> dict[str, Any]:
    """The SQL statements one booking executes (auto_explain with nested statements, its log
    sent to this client): how many, and the slowest ones, averaged over `calls` warm calls."""
    sql = fixtures.SPREAD_SCRIPT.split("\n")[2].rstrip(";")  # the SELECT create_booking line
    messages: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(3):  # warm: PL/pgSQL compiled, plans cached
            conn.execute(sql)
        conn.add_notice_handler(lambda d: messages.append(d.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        for name, value in (("auto_explain.log_min_duration", "0"),
                            ("auto_explain.log_nested_statements", "on"),
                            ("auto_explain.log_analyze", "on"),
                            ("auto_explain.log_timing", "off"),
                            ("client_min_messages", "log")):
            conn.execute("SELECT set_config(%s, %s, false)", (name, value))
        for _ in range(calls):
            conn.execute(sql)
        conn.execute("SET client_min_messages = notice")
    per_text: dict[str, float] = {}
    count = 0
    for message in messages:
        duration = re.search(r"duration: ([0-9.]+) ms", message)
        text = re.search(r"Query Text: (.*?)(?:\n[A-Z][a-z]+ |\Z)", message, re.S)
        if not duration:
            continue
        count += 1
        key = " ".join((text.group(1) if text else "?").split())[:110]
        per_text[key] = per_text.get(key, 0.0) + float(duration.group(1))
    top = sorted(per_text.items(), key=lambda kv: kv[1], reverse=True)
    return {"statements_per_booking": round(count / calls, 1), "calls": calls,
            "slowest": [{"statement": k, "ms_per_booking": round(v / calls, 3)}
                        for k, v in top[:12]]}


def _outbox_phases(ctx: Context, clients: int, seconds: int) -> dict[str, Any]:
    """B4 taken apart at `clients` clients: booking tps without and with the audit/outbox
    trigger (record_row_change), and the raw writes of a booking (fixtures.RAW_WRITES_SCRIPT)
    without and with it."""
    phases = [("none", False), ("audit + outbox trigger (as shipped)", True),
              ("raw writes, none", False), ("raw writes, audit + outbox trigger", True)]
    out: dict[str, Any] = {"clients": clients, "seconds": seconds, "tps": {}}
    try:
        for name, enabled in phases:
            fixtures.set_outbox_triggers(ctx.url, enabled)
            script = fixtures.RAW_WRITES_SCRIPT if name.startswith("raw") \
                else fixtures.SPREAD_SCRIPT
            r = pgbench.run(ctx.pgbench_bin, ctx.url, clients=clients, seconds=seconds,
                            script=script)
            out["tps"][name] = round(r.tps, 1) if r.ok else None
            if not r.ok:
                out.setdefault("errors", {})[name] = r.describe()
            log(f"  outbox phase {name!r}: {r.describe()}")
    finally:
        fixtures.set_outbox_triggers(ctx.url, True)
    return out


def profile(ctx: Context) -> dict[str, Any]:
    """Where a booking's time goes. One client (no contention): latency of create_booking vs
    TPC-B with synchronous_commit on and off (the share of the WAL flush) and without the
    outbox/audit triggers; per-function times (track_functions = all); the SQL statements of
    one booking (auto_explain). Then B4 taken apart at 32 clients (_outbox_phases)."""
    log(f"profile: 1 client, booking vs TPC-B latency, function times, {ctx.leg} s legs")
    out: dict[str, Any] = {"clients": 1, "seconds_per_leg": ctx.leg}

    def one(url: str, opt: str, **kw: Any) -> PgbenchResult:
        return pgbench.run(ctx.pgbench_bin, url, clients=1, seconds=ctx.leg, options=opt, **kw)

    for sync in ("on", "off"):
        opt = f"-c synchronous_commit={sync}"
        ref = one(ctx.pgbench_url, opt, builtin="tpcb-like", vacuum=True)
        sub = one(ctx.url, opt, script=fixtures.SPREAD_SCRIPT)
        out[f"synchronous_commit_{sync}"] = {
            "tpcb_latency_ms": ref.latency_ms, "tpcb_tps": ref.tps,
            "booking_latency_ms": sub.latency_ms, "booking_tps": sub.tps,
            "ok": ref.ok and sub.ok,
        }
    fixtures.set_outbox_triggers(ctx.url, False)
    try:
        bare = one(ctx.url, "-c synchronous_commit=on", script=fixtures.SPREAD_SCRIPT)
    finally:
        fixtures.set_outbox_triggers(ctx.url, True)
    out["no_outbox_audit_triggers"] = {"booking_latency_ms": bare.latency_ms,
                                       "booking_tps": bare.tps}
    raw = one(ctx.url, "-c synchronous_commit=on", script=fixtures.RAW_WRITES_SCRIPT)
    out["raw_writes"] = {"latency_ms": raw.latency_ms, "tps": raw.tps,
                         "error": None if raw.ok else raw.describe()}
    with psycopg.connect(ctx.url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_reset()")
    sub = one(ctx.url, "-c track_functions=all", script=fixtures.SPREAD_SCRIPT)
    time.sleep(1.5)  # backends flush their function statistics when they exit
    with psycopg.connect(ctx.url, autocommit=True) as conn:
        rows = conn.execute(
            """SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions
               WHERE schemaname IN ('hubspot_sync', 'mockbook_internal')
               ORDER BY self_time DESC""").fetchall()
    bookings = next((r[1] for r in rows if r[0] == "create_booking"), 0) or 1
    out["track_functions"] = {
        "booking_latency_ms": sub.latency_ms,
        "bookings": bookings,
        "function_calls_per_booking": round(sum(r[1] for r in rows) / bookings, 1),
        "functions": [
            {"function": name, "calls_per_booking": round(calls / bookings, 2),
             "self_ms_per_booking": round(self_t / bookings, 3),
             "total_ms_per_booking": round(total / bookings, 3)}
            for name, calls, total, self_t in rows],
    }
    try:
        out["statements"] = _booking_statements(ctx.url)
    except psycopg.Error as exc:  # auto_explain missing or not superuser
        out["statements"] = {"error": str(exc)}
    # What the server does for it (Linux perf; only when the server runs on this machine)
    out["cpu"] = cpu_profile.booking_cpu(
        ctx.url, [s for s in fixtures.SPREAD_SCRIPT.split(";\n") if s.strip()],
        seconds=max(3.0, float(ctx.leg)))
    log(f"  profile: booking {out['synchronous_commit_on']['booking_latency_ms']} ms, TPC-B "
        f"{out['synchronous_commit_on']['tpcb_latency_ms']} ms per transaction at 1 client")
    n, _ = _clients(ctx, 32)
    out["outbox_phases"] = _outbox_phases(ctx, n, ctx.leg)
    return out


# ---- B5 ------------------------------------------------------------------------------------
def b5(ctx: Context) -> list[Figure]:
    title = "push throughput to the sandbox (100 requests / 10 s)"
    try:
        from glue.config import PushSettings, Settings
        from glue.db.database import Database
        from glue.hubspot.client import HubSpotClient
        from glue.sandbox import CONTACTS, EXAMS, Sandbox
        from glue.sync.push import push
    except Exception as exc:  # the push may be unavailable
        return [not_measured("B5", "B5", title, f"glue.sync.push not importable: {exc}",
                             target=0.9)]
    count = 3_000 if ctx.quick else 8_000
    exams = 10
    token = "bench-token"
    window, limit = 10.0, 100
    with psycopg.connect(ctx.url, autocommit=True) as conn:
        # Only this benchmark's changes are to be pushed: the earlier ones are not in HubSpot.
        conn.execute("TRUNCATE hubspot_sync.sync_queue, hubspot_sync.sync_errors")
    with Sandbox(conformance=False, setup=True, rate_limit=limit, rate_window=window,
                 access_token=token) as sb:
        exam_ids = sb.seed(EXAMS, [{"mock_exam_name": f"push exam {i}", "total_bookings": "0"}
                                   for i in range(exams)])
        prefix = f"P{uuid.uuid4().hex[:6].upper()}"
        sids = [f"{prefix}{i}" for i in range(count)]
        contact_ids = sb.seed(CONTACTS, [{"email": f"{s.lower()}@example.com",
                                          "firstname": s} for s in sids])
        with psycopg.connect(ctx.url, autocommit=True) as conn:
            with conn.transaction():
                # Students and exams as the pull would have left them: already in HubSpot,
                # nothing to push about them yet.
                conn.execute("SET LOCAL session_replication_role = replica")
                for k, hid in enumerate(exam_ids):
                    fixtures.add_exam(conn, hid, fixtures.PUSH_DAY_OFFSET + k, 100_000)
                with conn.cursor() as cur:
                    cur.executemany(
                        """INSERT INTO hubspot_sync.hubspot_contact_credits
                               (hubspot_id, student_id, email, firstname, lastname, sj_credits)
                           VALUES (%s, %s, %s, %s, 'Push', 1)""",
                        [(cid, s, f"{s.lower()}@example.com", s)
                         for s, cid in zip(sids, contact_ids, strict=True)])
            fixtures.record_start_balances(conn)
        log(f"B5: {count:,} bookings to push ({count:,} students, {exams} exams)")
        def make_bookings(k: int) -> None:
            # Two connections, each booking its half of the students on its own half of the
            # exams (so neither waits for the other's exam locks), 100 bookings per statement
            # (one transaction each: a transaction of thousands would hold thousands of
            # advisory locks of the idempotency keys at once).
            mine, their_exams = sids[k::2], exam_ids[k::2]
            with psycopg.connect(ctx.url, autocommit=True) as conn:
                for start in range(0, len(mine), 100):
                    conn.execute(
                        """SELECT count(hubspot_sync.create_booking(
                               p_student_id := s.sid,
                               p_email := lower(s.sid) || '@example.com',
                               p_mock_exam_id := (%s::text[])[1 + s.i %% %s],
                               p_idempotency_key := 'push-' || s.sid,
                               p_attending_location := 'mississauga'))
                           FROM unnest(%s::text[]) WITH ORDINALITY AS s(sid, i)""",
                        (their_exams, len(their_exams), mine[start:start + 100]))

        with timed() as t_book:
            makers = [threading.Thread(target=make_bookings, args=(k,)) for k in range(2)]
            for t in makers:
                t.start()
            for t in makers:
                t.join()
        with psycopg.connect(ctx.url, autocommit=True) as conn:
            rows, queued_records = conn.execute(
                """SELECT count(*), count(DISTINCT (table_name, record_id))
                   FROM hubspot_sync.sync_queue WHERE done_at IS NULL""").fetchone()
        settings = Settings(database_url=ctx.url, hubspot_access_token=token,
                            hubspot_base_url=sb.base_url, rate_limit_requests=limit,
                            rate_limit_window_seconds=window, http_timeout_seconds=30.0)
        client = HubSpotClient.from_settings(settings)
        # Steady state from the first call: spend the window's budget first with cheap schema
        # reads through the same client and limiter, evenly over one window (as a long push
        # would have spent it), so the push gets no initial burst of 100 free calls and its
        # budget comes back at the sustained 10 calls per second.
        t_fill_start = time.monotonic()
        with timed() as t_fill:
            for k in range(limit):
                pause = t_fill_start + k * window / limit - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                client.schema(settings.bookings_object_type)
        log(f"  pushing {rows:,} outbox rows ({queued_records:,} records), the rate window "
            f"already spent ({limit} calls in {t_fill['seconds']:.1f} s)")
        pushed_from = time.time()
        with Database(ctx.url) as db:
            # the batch `mockbook push` makes by default (its --batch-size)
            stats = push(db, client, settings, linger=2.0,
                         push_settings=PushSettings())
        requests = sb.requests
        sandbox_stats = sb.stats
    with psycopg.connect(ctx.url, autocommit=True) as conn:
        pending, synced = conn.execute(
            """SELECT (SELECT count(*) FROM hubspot_sync.sync_queue
                       WHERE done_at IS NULL AND dead_at IS NULL),
                      (SELECT count(*) FROM hubspot_sync.hubspot_bookings
                       WHERE student_id LIKE %s || '%%' AND hubspot_id IS NOT NULL)""",
            (prefix,)).fetchone()

    def records_in(req: dict) -> int:
        path = req["path"]
        if "/associations/" in path or not path.endswith(("/batch/update", "/batch/upsert",
                                                         "/batch/create")):
            return 0
        body = req.get("json") or {}
        return len(body.get("inputs") or []) if req.get("status") in (200, 201, 207) else 0

    work = [r for r in requests if "/schemas/" not in r["path"]]
    # the preflight's portal checks (glue.hubspot.setup: the schema list, each type's
    # properties, the association labels) are not the push's own calls
    preflight = [r for r in work if r["path"].startswith("/crm-object-schemas/")
                 or "/crm/v3/properties/" in r["path"] or r["path"].endswith("/labels")]
    calls = len(work) - len(preflight)
    records = sum(records_in(r) for r in work)
    timeline: list[int] = []
    if work:
        t0 = pushed_from
        t_end = max(r["time"] + r.get("duration", 0) for r in work)
        timeline = [0] * (int(t_end - t0) + 1)
        for r in requests:
            if r["time"] >= t0:
                timeline[int(r["time"] - t0)] += 1
    rate = stats.sent / stats.seconds if stats.seconds else 0.0
    ceiling = limit / window * 100
    # every input of every call, association inputs included (what HubSpot's batch limit of
    # 100 counts), for comparison
    inputs = sum(len((r.get("json") or {}).get("inputs") or []) for r in work)
    fig = Figure(
        id="B5", bench="B5", title=title, value=round(rate, 1), unit="records/s",
        reference=ceiling, reference_unit="records/s",
        reference_name="ceiling: 100 requests / 10 s x 100 records per request",
        ratio=round(rate / ceiling, 3), ratio_meaning="records pushed per second / 1,000",
        target=0.9,
        how=(f"{count:,} bookings ({count:,} students, {exams} exams; {rows:,} outbox rows = "
             f"{queued_records:,} records: bookings, contacts' credits, exams' totals) pushed "
             f"by glue.sync.push.push (as `mockbook push`: HubSpotClient.from_settings, "
             f"process-local limiter) to an in-process "
             f"glue.sandbox.Sandbox(conformance=False, rate_limit="
             f"{limit}, rate_window={window:g}). Records = inputs of the batch update/upsert "
             f"calls (associations carry none). The window's budget is spent first ({limit} "
             f"schema reads through the same client, evenly over {window:g} s), so the push "
             f"runs at the sustained rate from its first call, as in a long push; rate = "
             f"records completed / the push's own duration (glue.sync.push's PushStats). HubSpot "
             f"calls per booking over the whole push (without the preflight's "
             f"{len(preflight)} portal checks)."))
    fig.details.update(
        bookings=count, outbox_rows=rows, records_queued=queued_records,
        records_sent=stats.sent, records_in_calls=records, push_seconds=stats.seconds,
        prefill_seconds=round(t_fill["seconds"], 2), inputs_all_calls=inputs,
        inputs_per_s=round(inputs / stats.seconds, 1) if stats.seconds else None,
        records_per_call=round(records / calls, 1) if calls else None,
        hubspot_calls=calls, preflight_calls=len(preflight),
        calls_per_booking=round(calls / count, 4),
        bookings_per_s_overall=round(count / stats.seconds, 1) if stats.seconds else None,
        batches=stats.batches, retried=stats.retried, dead_lettered=stats.dead_lettered,
        sandbox_429=sandbox_stats.get("429"), pending_after=pending,
        bookings_with_hubspot_id=synced,
        booking_seconds=round(t_book["seconds"], 2),
        by_path=dict(Counter(r["path"] for r in work)),
        calls_per_second_timeline=timeline)
    if pending or synced != count:
        fig.status = "error"
        fig.note = f"push incomplete: {pending} rows pending, {synced}/{count} bookings synced"
    log(f"  B5: {fig.value} records/s ({fig.ratio} of the ceiling), "
        f"{fig.details['calls_per_booking']} calls per booking, {stats.seconds} s")
    return [fig.judge(), _b5m(fig, work, records_in, limit / window)]


def _b5m(b5: Figure, work: list[dict], records_in: Callable[[dict], int],
         calls_per_s: float) -> Figure:
    """B5 ÷ the ceiling HubSpot's documented limits put on the records it pushed: the fewest
    calls those records need at the rate limit (glue.hubspot.client's MAX_BATCH inputs per
    objects batch write, MAX_HISTORY_BATCH contacts per read with property history — the credit
    merge reads each contact's credits with their history before writing them —
    MAX_ASSOCIATION_BATCH inputs per associations v4 batch call)."""
    from glue.hubspot.client import MAX_ASSOCIATION_BATCH, MAX_BATCH, MAX_HISTORY_BATCH

    def ceil_div(a: int, b: int) -> int:
        return -(-a // b)

    written: Counter[str] = Counter()  # records written per object type
    associated: Counter[str] = Counter()  # association inputs per type pair
    for r in work:
        parts = r["path"].split("/")
        if r["path"].startswith("/crm/v3/objects/") and parts[-2] == "batch":
            written[parts[4]] += records_in(r)
        elif (r["path"].endswith("/associate/default")
              and r.get("status") in (200, 201, 207)):
            associated["/".join(parts[4:6])] += len((r.get("json") or {}).get("inputs") or [])
    contacts = written.get("0-1", 0)
    calls = (sum(ceil_div(n, MAX_BATCH) for n in written.values())
             + ceil_div(contacts, MAX_HISTORY_BATCH)
             + sum(ceil_div(n, MAX_ASSOCIATION_BATCH) for n in associated.values()))
    records = sum(written.values())
    ceiling = records / (calls / calls_per_s) if calls else 0.0
    fig = Figure(
        id="B5m", bench="B5m", title="push throughput ÷ its documented ceiling",
        value=b5.value, unit="records/s", reference=round(ceiling, 1),
        reference_unit="records/s",
        reference_name="records ÷ (fewest calls HubSpot's limits allow ÷ calls per second)",
        ratio=round(b5.value / ceiling, 3) if ceiling else None,
        ratio_meaning="records pushed per second / documented ceiling", target=0.9,
        how=("B5's push. ceiling = R / (C / r): R records written (batch update/upsert "
             "inputs), r the rate limit's calls per second, C = Σ ceil(records of a type / "
             f"{MAX_BATCH}) + ceil(contacts / {MAX_HISTORY_BATCH}) (the credit merge's reads "
             f"with history) + Σ ceil(association inputs of a type pair / "
             f"{MAX_ASSOCIATION_BATCH})."))
    fig.details.update(records_written=dict(written), association_inputs=dict(associated),
                       fewest_calls=calls, calls_per_second=calls_per_s,
                       hubspot_calls=b5.details.get("hubspot_calls"))
    if b5.status != "measured" or not ceiling:
        fig.status = b5.status if b5.status != "measured" else "error"
        fig.note = b5.note or "no records written"
        return fig
    log(f"  B5m: {fig.value} / {fig.reference} = {fig.ratio} ({calls} calls at least)")
    return fig.judge()


# ---- B6 ------------------------------------------------------------------------------------
WORKER_DB = "mockbook_bench_worker"
B6_RATE = 5.0  # bookings per second
B6_EXAMS = 5


def _visible_at(requests: list[dict], bookings_type: str) -> dict[str, float]:
    """Booking code -> when HubSpot answered the first successful upsert carrying it (the
    sandbox's clock: time.time() at arrival + the exchange's duration)."""
    seen: dict[str, float] = {}
    for r in requests:
        if not r["path"].endswith("/batch/upsert") or f"/{bookings_type}/" not in r["path"]:
            continue
        if r.get("status") not in (200, 201, 207):
            continue
        done = r["time"] + (r.get("duration") or 0.0)
        for item in (r.get("json") or {}).get("inputs") or []:
            code = item.get("id") or (item.get("properties") or {}).get("booking_id")
            if code and code not in seen:
                seen[code] = done
    return seen


def b6(ctx: Context, schema_source: str) -> list[Figure]:
    """B6 (5 bookings/s, no faults), B6f (20/s under the sandbox's faults) and B6b (20/s with a
    backlog of 50,000 audit rows to write as notes): the push keeps its lag whatever else the
    worker has to do."""
    figures = _worker_lag(ctx, schema_source, "B6", "sync lag in worker mode, p95 commit -> "
                          "visible in HubSpot", rate=B6_RATE, target=2.0)
    figures += _worker_lag(ctx, schema_source, "B6f", "sync lag at 20/s under HubSpot faults "
                           "(10 % 5xx, 150 ms latency, 5 % lost answers)", rate=20.0,
                           target=3.0, faults=True)
    figures += _worker_lag(ctx, schema_source, "B6b", "sync lag at 20/s with 50,000 audit rows "
                           "waiting to become notes", rate=20.0, target=3.0, backlog=50_000)
    return figures


def _worker_lag(ctx: Context, schema_source: str, fig_id: str, title: str, *, rate: float,
                target: float, faults: bool = False, backlog: int = 0) -> list[Figure]:
    try:
        import click

        from glue.cli import cli
        from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
    except Exception as exc:
        return [not_measured(fig_id, "B6", title, f"glue not importable: {exc}",
                             target=target, target_op="<=")]
    # the CLI loads its subcommands lazily (glue/cli): `cli.commands` holds only the eager ones,
    # so ask the group the way click does for `mockbook worker`
    if cli.get_command(click.Context(cli), "worker") is None:
        return [not_measured(fig_id, "B6", title,
                             "worker not built yet (`mockbook worker` does not exist)",
                             target=target, target_op="<=")]
    seconds = 15 if ctx.quick else 30
    count = int(rate * seconds)
    token = "bench-worker-token"
    url = recreate_database(WORKER_DB)
    fixtures.build(url, schema_source)
    today = time.strftime("%Y-%m-%d")
    with psycopg.connect(url, autocommit=True) as conn:
        (day0,) = conn.execute("SELECT hubspot_sync.business_today() + 10").fetchone()
    prefix = f"K{uuid.uuid4().hex[:5].upper()}"
    students = [f"{prefix}{i}" for i in range(count)]
    log(f"{fig_id}: `mockbook worker` on {WORKER_DB}, {count} bookings at {rate:g}/s for "
        f"{seconds} s (students and exams imported from the sandbox by the worker's pull)")
    with Sandbox(conformance=False, setup=True, rate_limit=100, rate_window=10.0,
                 access_token=token) as sb:
        exam_ids = sb.seed(EXAMS, [{
            "mock_exam_name": f"worker exam {k}", "mock_type": "Situational Judgment",
            "exam_date": str(day0 + timedelta(days=k)), "start_time": "09:00",
            "end_time": "12:00", "location": "mississauga", "capacity": "100000",
            "total_bookings": "0", "is_active": "true", "mock_set": "A"}
            for k in range(B6_EXAMS)])
        sb.seed(CONTACTS, [{
            "email": f"{s.lower()}@example.com", "student_id": s, "firstname": s,
            "lastname": "Worker", "sj_credits": "2", "cs_credits": "0", "sjmini_credits": "0",
            "mock_discussion_token": "0", "shared_mock_credits": "0"} for s in students])
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "MOCKBOOK_SCHEMA_SOURCE")}
        # with REDIS_URL set, the worker keeps the Redis keys in its database 15 and the bench
        # measures commit -> capacity:{exam} updated
        redis_client = None
        if os.environ.get("REDIS_URL"):
            from urllib.parse import urlsplit, urlunsplit

            import redis
            redis_url = urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/15"))
            redis_client = redis.Redis.from_url(redis_url, decode_responses=True)
            redis_client.flushdb()
            env["REDIS_URL"] = redis_url
        env.update(DATABASE_URL=url, HUBSPOT_ACCESS_TOKEN=token, HUBSPOT_BASE_URL=sb.base_url,
                   HUBSPOT_RATE_LIMIT="100", HUBSPOT_RATE_WINDOW_SECONDS="10",
                   HUBSPOT_TIMEOUT_SECONDS="10")
        if backlog:  # the notes are written from the first booking on, not a minute later
            env["MOCKBOOK_WORKER_PULL_SECONDS"] = "5"
        # the worker's log: closed in the finally below, read and removed after
        log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w+", prefix="mockbook-bench-worker-", suffix=".log", delete=False)
        proc = subprocess.Popen(
            [sys.executable, "-c", "from glue.cli import main; main()", "worker",
             "--name", "bench-worker"],
            env=env, cwd=str(Path(__file__).resolve().parent.parent), stdout=log_file,
            stderr=subprocess.STDOUT)
        commits: dict[str, float] = {}
        redis_lags: list[float] = []
        failures: list[str] = []
        try:
            deadline = time.monotonic() + 120
            while True:  # the worker's first pull imports the students and exams
                with psycopg.connect(url, autocommit=True) as conn:
                    (imported,) = conn.execute(
                        "SELECT count(*) FROM hubspot_sync.hubspot_contact_credits"
                        " WHERE student_id LIKE %s || '%%'", (prefix,)).fetchone()
                    (exams_in,) = conn.execute(
                        "SELECT count(*) FROM hubspot_sync.hubspot_mock_exams"
                        " WHERE hubspot_id = ANY(%s)", (exam_ids,)).fetchone()
                if imported == count and exams_in == B6_EXAMS:
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the worker did not import the sandbox's records "
                                       f"({imported}/{count} students, {exams_in} exams); "
                                       f"log: {Path(log_file.name).read_text()[-800:]}")
                time.sleep(0.2)
            time.sleep(2.0)  # let the import's own follow-ups settle
            if backlog:  # credit changes made outside a booking: each one becomes a note
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(
                        "INSERT INTO hubspot_sync.supabase_audit_log (table_name, record_id, "
                        "operation, changed_fields, old_values, new_values, performed_by) "
                        "SELECT 'hubspot_contact_credits', c.id, 'UPDATE', '[\"sj_credits\"]', "
                        "'{\"sj_credits\": 1}', '{\"sj_credits\": 2}', 'admin@school.ca' "
                        "FROM hubspot_sync.hubspot_contact_credits AS c, "
                        "generate_series(1, %s) AS g "
                        "WHERE c.student_id LIKE %s || '%%' AND c.hubspot_id IS NOT NULL",
                        (backlog // count + 1, prefix))
            if faults:  # from now on: the import ran without them
                sb.faults.error_rate, sb.faults.latency = 0.10, 0.15
                sb.faults.lost_response_rate = 0.05
            sql = ("SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s, "
                   "p_mock_exam_id := %s, p_idempotency_key := %s, "
                   "p_attending_location := 'mississauga')")
            with psycopg.connect(url, autocommit=True) as conn:
                start = time.monotonic()
                for k, student in enumerate(students):
                    pause = start + k / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    try:
                        with conn.transaction():
                            conn.execute(fixtures.POSTGREST_PREAMBLE)
                            (result,) = conn.execute(sql, (
                                student, f"{student.lower()}@example.com",
                                exam_ids[k % B6_EXAMS], f"worker-{student}")).fetchone()
                        commits[result["booking_id"]] = time.time()  # after the commit
                    except psycopg.Error as exc:
                        failures.append(f"{exc.sqlstate}: {exc}")
                        continue
                    # B6 only: until the worker wrote the new seat count
                    if redis_client is not None and fig_id == "B6":
                        key = f"capacity:{exam_ids[k % B6_EXAMS]}"
                        seats = str(result["capacity"] - result["total_bookings"])
                        while redis_client.get(key) != seats and time.time() < (
                                commits[result["booking_id"]] + 2.0):
                            time.sleep(0.002)
                        if redis_client.get(key) == seats:
                            redis_lags.append(time.time() - commits[result["booking_id"]])
                drive_s = time.monotonic() - start
            wait_until = time.monotonic() + 60
            while time.monotonic() < wait_until:
                if set(commits) <= set(_visible_at(sb.requests, BOOKINGS)):
                    break
                time.sleep(0.2)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
            log_file.close()
        requests = sb.requests
        visible = _visible_at(requests, BOOKINGS)
        sandbox_stats = sb.stats
        calls = len(requests)
        by_path = dict(Counter(r["path"] for r in requests))
    worker_log = Path(log_file.name).read_text()
    os.unlink(log_file.name)
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{WORKER_DB}" WITH (FORCE)')
    lags = [visible[c] - t for c, t in commits.items() if c in visible]
    missing = len(commits) - len(lags)
    p = {q: round(percentile(lags, q), 3) for q in (50, 95, 99)}
    notes_written = sum(1 for r in requests if r["path"].startswith("/crm/v3/objects/0-46"))
    fig = Figure(
        id=fig_id, bench="B6", title=title, value=p[95], unit="s p95", target=target,
        target_op="<=",
        how=(f"`mockbook worker` (subprocess, default debounce/poll settings) on a "
             f"database of its own ({WORKER_DB}, migrated like the bench's) against an "
             f"in-process Sandbox(conformance=False, rate_limit=100, rate_window=10); "
             f"{count} students and {B6_EXAMS} exams created in the sandbox and imported by "
             f"the worker's own first pull; then {count} create_booking calls (PostgREST-style "
             f"transactions, one connection) at a steady {rate:g} per second for "
             f"{seconds} s. Lag = HubSpot's answer to the first batch/upsert carrying the "
             f"booking code (sandbox request log) - the client's time right after the commit. "
             f"No reference workload: the target is absolute."
             + (" Faults from the first booking on: 10 % of calls a 5xx, 150 ms latency on "
                "every call, 5 % of calls applied with their answer lost." if faults else "")
             + (f" Before the first booking, {backlog:,} audit rows (credit changes) waiting to "
                "become HubSpot notes: the worker's sync lane writes them while it pushes."
                if backlog else "")),
        note=("" if not (missing or failures) else
              f"{missing} bookings never reached HubSpot within 60 s; "
              f"{len(failures)} booking calls failed {failures[:2]}"))
    fig.details.update(
        rate_per_s=rate, seconds=seconds, faults=faults, notes_backlog=backlog,
        notes_calls=notes_written, bookings=len(commits), lag_s=p,
        lag_max_s=round(max(lags), 3) if lags else None,
        lag_mean_s=round(statistics.fmean(lags), 3) if lags else None,
        drive_seconds=round(drive_s, 2) if commits else None, missing=missing,
        failed_calls=len(failures), hubspot_calls=calls, sandbox_429=sandbox_stats.get("429"),
        calls_by_path=by_path,
        lag_by_booking_s=[round(visible[c] - t, 3) for c, t in commits.items() if c in visible],
        worker_exit=proc.returncode, worker_log_tail=worker_log[-1500:], date=today)
    if missing or failures or not lags:
        fig.status = "error"
    log(f"  {fig_id}: lag p50/95/99 {p} s, max {fig.details['lag_max_s']} s, {calls} HubSpot "
        f"calls, {missing} missing")
    figures = [fig.judge()]
    if redis_client is not None:
        redis_client.close()
    if redis_client is not None and fig_id == "B6":
        rp = {q: round(percentile(redis_lags, q), 4) for q in (50, 95, 99)} if redis_lags else {}
        rfig = Figure(
            id="B6r", bench="B6", title="Redis lag in worker mode, p95 commit -> capacity key",
            value=rp.get(95), unit="s p95", target=0.1, target_op="<=",
            how=("B6's bookings with REDIS_URL set for the worker (database 15): after each "
                 "commit the client polls capacity:{exam} every 2 ms until it shows the seats "
                 "the booking left (at most 2 s). Lag = first read showing them - the client's "
                 "time right after the commit. The worker wakes from the outbox's high-water "
                 "mark (read every 50 ms), so the expected lag is ~25-75 ms."),
            note=("" if len(redis_lags) == len(commits) else
                  f"{len(commits) - len(redis_lags)} bookings' keys not seen within 2 s"))
        rfig.details.update(lag_s=rp, samples=len(redis_lags),
                            lag_max_s=round(max(redis_lags), 4) if redis_lags else None)
        if not redis_lags:
            rfig.status = "error"
        log(f"  B6r: Redis lag p50/95/99 {rp} s over {len(redis_lags)} bookings")
        figures.append(rfig.judge())
    return figures


# ---- B7 ------------------------------------------------------------------------------------
VIEWS = {
    # view: (dashboard filter on the view's columns, what it shows)
    "booking_analytics": ("week BETWEEN date_trunc('week', current_date - 84)::date"
                          " AND current_date + 84", "24 weeks around today"),
    "exam_utilization": ("exam_date BETWEEN current_date AND current_date + 60",
                         "exams of the next 60 days"),
    "daily_booking_trends": ("day BETWEEN current_date - 30 AND current_date",
                             "the last 30 days"),
    "credit_usage": ("week BETWEEN date_trunc('week', current_date - 84)::date AND current_date",
                     "the last 12 weeks"),
}


def _generate_analytics_data(url: str, bookings: int) -> dict[str, Any]:
    """`bookings` bookings on ANALYTICS_EXAMS exams (one per day, about 2.7 years back to
    2.7 years ahead, the four mock types), with their ledger rows, in set-based SQL."""
    exams = fixtures.ANALYTICS_EXAMS
    steps: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:

        def step(name: str, sql: str, params: Any = None) -> None:
            with timed() as t_step:
                conn.execute(sql, params)
            steps[name] = round(t_step["seconds"] + steps.get(name, 0.0), 2)

        with timed() as t, conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            # Bulk load: the secondary indexes of the two big tables (not those behind
            # constraints) are dropped first and built again at the end, in this transaction.
            indexes = conn.execute(
                """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                   FROM pg_index AS i
                   WHERE i.indrelid IN ('hubspot_sync.hubspot_bookings'::regclass,
                                        'hubspot_sync.credit_ledger'::regclass)
                     AND NOT EXISTS (SELECT FROM pg_constraint AS k
                                     WHERE k.conindid = i.indexrelid)""").fetchall()
            conn.execute("TRUNCATE hubspot_sync.hubspot_bookings, hubspot_sync.credit_ledger,"
                         " hubspot_sync.supabase_audit_log, hubspot_sync.sync_queue,"
                         " hubspot_sync.sync_errors")
            for name, _ in indexes:
                conn.execute(f"DROP INDEX {name}")  # names from the catalog
            step("exams",
                """INSERT INTO hubspot_sync.hubspot_mock_exams
                       (hubspot_id, mock_exam_name, mock_type, exam_date, start_time, end_time,
                        location, capacity, total_bookings, is_active, mock_set)
                   SELECT 'AX' || g, 'analytics exam ' || g,
                          (ARRAY['Situational Judgment', 'Clinical Skills', 'Mini-mock',
                                 'Mock Discussion'])[1 + g %% 4],
                          current_date - %(half)s + g, '09:00', '12:00',
                          (ARRAY['mississauga', 'calgary', 'vancouver', 'montreal',
                                 'richmond_hill'])[1 + g %% 5],
                          ceil(%(per)s * 1.25)::int, 0, 'true', 'A'
                   FROM generate_series(0, %(e)s - 1) AS g""",
                {"half": exams // 2, "per": bookings / exams, "e": exams})
            step("bookings",
                """INSERT INTO hubspot_sync.hubspot_bookings
                       (booking_id, associated_mock_exam, associated_contact_id, student_id,
                        name, student_email, is_active, attendance, attending_location,
                        token_used, start_time, end_time, exam_date, mock_type, mock_set,
                        idempotency_key, created_at, updated_at)
                   SELECT 'BK-AN-' || g, e.hubspot_id, 'BC' || (g %% %(s)s), 'B' || (g %% %(s)s),
                          'Student ' || (g %% %(s)s), 'b' || (g %% %(s)s) || '@example.com',
                          st.status,
                          CASE WHEN st.status = 'Completed'
                               THEN CASE WHEN g %% 7 = 0 THEN 'No' ELSE 'Yes' END END,
                          e.location, 'Situational Judgment Token', '09:00', '12:00',
                          e.exam_date, e.mock_type, 'A', 'an-' || g, c.at, c.at
                   FROM generate_series(0, %(b)s - 1) AS g
                   JOIN hubspot_sync.hubspot_mock_exams AS e
                     ON e.hubspot_id = 'AX' || (g %% %(e)s)
                   CROSS JOIN LATERAL (SELECT CASE
                       WHEN g %% 100 < 15 THEN 'Cancelled'
                       WHEN e.exam_date < current_date THEN 'Completed'
                       ELSE 'Active' END AS status) AS st
                   -- booked 1-60 days before the exam, and never in the future
                   CROSS JOIN LATERAL (SELECT least(
                       e.exam_date - (1 + g %% 60) * interval '1 day',
                       now() - (g %% 60) * interval '1 day' - (g %% 86400) * interval '1 second'
                       ) AS at) AS c""",
                {"s": fixtures.STUDENTS, "b": bookings, "e": exams})
            step("ledger",
                """INSERT INTO hubspot_sync.credit_ledger
                       (contact_id, student_id, credit_field, delta, balance_after, reason,
                        booking_id, actor, created_at)
                   SELECT c.id, b.student_id, 'sj_credits', -1, 0, 'booking', b.id, 'bench',
                          b.created_at
                   FROM hubspot_sync.hubspot_bookings AS b
                   JOIN hubspot_sync.hubspot_contact_credits AS c USING (student_id)""")
            step("ledger",
                """INSERT INTO hubspot_sync.credit_ledger
                       (contact_id, student_id, credit_field, delta, balance_after, reason,
                        booking_id, actor, created_at)
                   SELECT c.id, b.student_id, 'sj_credits', 1, 1, 'cancellation', b.id, 'bench',
                          b.created_at + interval '1 day'
                   FROM hubspot_sync.hubspot_bookings AS b
                   JOIN hubspot_sync.hubspot_contact_credits AS c USING (student_id)
                   WHERE b.is_active = 'Cancelled'""")
            for _, ddl in indexes:
                step("indexes", ddl)
            # the data model: every exam's total_bookings = its Active bookings (0 for the exams of
            # the earlier benchmarks, whose bookings were truncated above).
            step("exam_totals",
                """UPDATE hubspot_sync.hubspot_mock_exams AS e
                   SET total_bookings = (SELECT count(*) FROM hubspot_sync.hubspot_bookings AS b
                                         WHERE b.associated_mock_exam = e.hubspot_id
                                           AND b.is_active = 'Active')""")
        with timed() as t_vac:
            conn.execute("VACUUM ANALYZE")
        (ledger,) = conn.execute("SELECT count(*) FROM hubspot_sync.credit_ledger").fetchone()
    return {"bookings": bookings, "exams": exams, "ledger_rows": ledger,
            "generate_s": round(t["seconds"], 1), "generate_steps_s": steps,
            "vacuum_analyze_s": round(t_vac["seconds"], 1)}


def _time_query(conn: psycopg.Connection, sql: str, repeat: int) -> tuple[float, int]:
    """Median seconds of `repeat` runs (after one warm-up run) and the row count."""
    rows = len(conn.execute(sql).fetchall())
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        conn.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
    return median(times), rows


def b7(ctx: Context, scale: str) -> list[Figure]:
    bookings = 100_000 if scale == "small" else 1_000_000
    log(f"B7: generating {bookings:,} bookings and their ledger rows")
    data = _generate_analytics_data(ctx.url, bookings)
    log(f"  generated in {data['generate_s']} s (+ VACUUM ANALYZE {data['vacuum_analyze_s']} s)")
    figures = []
    refresh: dict[str, dict[str, float]] = {}
    with psycopg.connect(ctx.url, autocommit=True) as conn:
        for view in VIEWS:
            # identifiers are our own constants
            with timed() as plain:
                conn.execute(f"REFRESH MATERIALIZED VIEW hubspot_sync.{view}")
            with timed() as conc:
                conn.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY hubspot_sync.{view}")
            refresh[view] = {"concurrently_s": round(conc["seconds"], 3),
                             "plain_s": round(plain["seconds"], 3)}
        with timed() as whole:
            result = conn.execute("SELECT mockbook_internal.refresh_analytics(true)").fetchone()[0]
        conc_total = sum(r["concurrently_s"] for r in refresh.values())
        plain_total = sum(r["plain_s"] for r in refresh.values())
        figures.append(Figure(
            id="B7-refresh", bench="B7",
            title=f"REFRESH ... CONCURRENTLY of the 4 analytics views at {bookings:,} bookings",
            value=round(conc_total, 2), unit="s", reference=round(plain_total, 2),
            reference_unit="s", reference_name="plain REFRESH of the same views",
            ratio=round(conc_total / plain_total, 2) if plain_total else None,
            ratio_meaning="concurrent refresh time / plain refresh time (informational)",
            how=(f"{bookings:,} bookings on {data['exams']:,} exams, {data['ledger_rows']:,} "
                 "ledger rows (generated with generate_series, then VACUUM ANALYZE); each view "
                 "refreshed plainly, then CONCURRENTLY (readers not blocked; contents unchanged "
                 "so the diff is empty, the query and the diff join still run in full); also "
                 "mockbook_internal.refresh_analytics(true) as a whole."),
            details={"per_view": refresh, "refresh_analytics_s": round(whole["seconds"], 2),
                     "refresh_analytics_result": result, **data}))
        log(f"  refresh concurrently {conc_total:.2f} s (plain {plain_total:.2f} s)")

        per_view = {}
        view_total = live_total = 0.0
        for view, (where, shows) in VIEWS.items():
            (definition,) = conn.execute(
                "SELECT pg_get_viewdef(%s::regclass, true)",
                (f"hubspot_sync.{view}",)).fetchone()
            live_sql = f"SELECT * FROM ({definition.rstrip().rstrip(';')}) AS live WHERE {where}"
            view_sql = f"SELECT * FROM hubspot_sync.{view} WHERE {where}"
            view_s, view_rows = _time_query(conn, view_sql, 21)
            live_s, live_rows = _time_query(conn, live_sql, 1 if bookings >= 1_000_000 else 3)
            view_total += view_s
            live_total += live_s
            per_view[view] = {"shows": shows, "view_ms": round(view_s * 1000, 3),
                              "live_ms": round(live_s * 1000, 1), "rows": view_rows,
                              "live_rows": live_rows,
                              "speedup": round(live_s / view_s, 1) if view_s else None}
            log(f"  {view}: view {view_s * 1000:.2f} ms, live {live_s * 1000:.0f} ms")
        mismatched = [v for v, d in per_view.items() if d["rows"] != d["live_rows"]]
        fig = Figure(
            id="B7", bench="B7",
            title=f"dashboard on the analytics views vs live tables, {bookings:,} bookings",
            value=round(view_total * 1000, 2), unit="ms (view)",
            reference=round(live_total * 1000, 1), reference_unit="ms (live)",
            reference_name="the views' own definitions run on the live tables",
            ratio=round(live_total / view_total, 1) if view_total else None,
            ratio_meaning="live-table aggregate time / materialized-view time (x faster)",
            target=50.0,
            how=("a dashboard of four queries, one per analytics view, each with a date filter "
                 "(" + "; ".join(f"{v}: {d['shows']}" for v, d in per_view.items()) + "), "
                 "run on the materialized view and as the view's own definition "
                 "(pg_get_viewdef) wrapped with the same filter on the live tables; client-side "
                 "time incl. fetching the rows, median of 21 runs (view) and of "
                 f"{1 if bookings >= 1_000_000 else 3} run(s) (live) after one warm-up each."),
            details={"per_view": per_view, **data},
            note=f"row counts differ for {mismatched}" if mismatched else "")
        figures.append(fig.judge())
        log(f"  B7 dashboard: view {fig.value} ms, live {fig.reference} ms: {fig.ratio}x")
    return figures
