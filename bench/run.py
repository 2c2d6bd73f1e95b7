"""`make bench`: the documented benchmarks B1-B12 on the configured server.

    bench/run.py [--only B1,B3] [--quick] [--schema-source alembic|db] [--scale small|full]
                 [--leg SECONDS] [--keep]
    bench/run.py --report bench/results/<timestamp>.json   (re-render README tables and PNG)

Server: DATABASE_URL, else the PG* variables, else 127.0.0.1:5432 as postgres. The bench uses
databases of its own: mockbook_bench (dropped and rebuilt every run, dropped at the end unless
--keep), mockbook_bench_worker (B6, likewise) and mockbook_bench_pgbench (pgbench's TPC-B
tables, kept between runs and reused when its scale is right, since initialising scale 128
takes a while). Writes
bench/results/<UTC timestamp>.json, bench/results/<UTC timestamp>.png and the tables in
bench/README.md. See bench/README.md for what each benchmark measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import adoption  # noqa: E402
import first_import  # noqa: E402
import fixtures  # noqa: E402
import pgbench  # noqa: E402
import psycopg  # noqa: E402
import report  # noqa: E402
import upgrade_live  # noqa: E402
import webhooks_bench  # noqa: E402
import worker_backlog  # noqa: E402
import workloads  # noqa: E402
from common import (  # noqa: E402
    BENCH_DB,
    PGBENCH_DB,
    Figure,
    database_exists,
    log,
    not_measured,
    recreate_database,
    server_info,
    timed,
    url_for,
)

ALL = ("B1", "B1r", "B2", "B2h", "B3", "B4", "B5", "B5m", "B6", "B7", "B8", "B9", "B10", "B11",
       "B12", "B12n", "B18")
TITLES = {
    "B1": "booking throughput, spread over many exams",
    "B1r": "booking against its own rows as plain SQL",
    "B2": "hot exam",
    "B2h": "hot exam against spread",
    "B3": "booking rush",
    "B4": "outbox + audit cost (and B4r: the trigger against two bare rows per change)",
    "B5": "push throughput to the sandbox",
    "B5m": "push throughput against its documented ceiling",
    "B6": "sync lag in worker mode",
    "B7": "analytics",
    "B8": "scaling of B1 with clients",
    "B9": "webhooks: exam change in HubSpot -> Postgres and Redis",
    "B10": "adoption: one-transaction upgrade at 100k and 400k bookings",
    "B11": "first import of 20,000 contacts, 200 exams, 40,000 bookings: calls, time, a kill",
    "B12": "the worker on a backlog under faults: first rows, lag, killed lives",
    "B12n": "the notes claim behind 500k rows waiting for HubSpot ids",
    "B18": "upgrade of the last release while bookings run: the longest call blocked",
}


def machine() -> dict[str, object]:
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory_gb": memory, "platform": platform.platform(),
            "python": platform.python_version()}


def every_benchmark(only: list[str]) -> bool:
    """Whether a run measured all of B1-B10: only such a run rewrites bench/README's Results."""
    return set(only) == set(ALL)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated benchmarks, e.g. B1,B3 (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="short legs (3 s), B7 at --scale small, B5 with 3,000 bookings")
    parser.add_argument("--schema-source", choices=("alembic", "db"), default="alembic",
                        help="build the bench database with Alembic (default) or from db/")
    parser.add_argument("--scale", choices=("small", "full"),
                        help="B7: 100k (small) or 1M (full, default) bookings")
    parser.add_argument("--leg", type=int,
                        help="seconds of one pgbench run (default 10, --quick 3)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="ABBA rounds per ratio figure of B1, B1r, B2, B2h, B4 (default 1): "
                             "more rounds average out a noisy machine; each round's own ratio "
                             "is kept in the results")
    parser.add_argument("--keep", action="store_true",
                        help="keep mockbook_bench after the run (for looking into it)")
    parser.add_argument("--report", metavar="RESULTS_JSON",
                        help="measure nothing: rewrite bench/README.md's tables and the PNG "
                             "from a results file")
    args = parser.parse_args(argv)
    by_upper = {b.upper(): b for b in ALL}  # b1r, B1R and B1r all name B1r
    wanted = [by_upper.get(b.strip().upper(), b.strip())
              for b in (args.only or ",".join(ALL)).split(",") if b.strip()]
    unknown = [b for b in wanted if b not in ALL]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(ALL)}")
    args.only = wanted
    args.scale = args.scale or ("small" if args.quick else "full")
    args.leg = args.leg or (3 if args.quick else 10)
    if not 1 <= args.rounds <= workloads.MAX_ROUNDS:
        parser.error(f"--rounds must be 1..{workloads.MAX_ROUNDS}")
    return args


def prepare_pgbench_db(ctx: workloads.Context) -> dict[str, object]:
    url = ctx.pgbench_url
    scale = None
    if database_exists(PGBENCH_DB):
        with psycopg.connect(url, autocommit=True) as conn:
            scale = pgbench.tpcb_scale(conn)
    if scale == ctx.tpcb_scale:
        log(f"{PGBENCH_DB}: reusing pgbench tables at scale {scale}")
        return {"scale": scale, "initialised": False, "warm_seconds": warm_pgbench(url)}
    recreate_database(PGBENCH_DB)
    log(f"{PGBENCH_DB}: pgbench -i -s {ctx.tpcb_scale} (server-side generation)")
    with timed() as t:
        pgbench.initialise(ctx.pgbench_bin, url, ctx.tpcb_scale)
    log(f"  initialised in {t['seconds']:.0f} s")
    return {"scale": ctx.tpcb_scale, "initialised": True, "init_seconds": round(t["seconds"], 1),
            "warm_seconds": warm_pgbench(url)}


def warm_pgbench(url: str) -> float:
    """Read the TPC-B tables once, so the reference does not pay for disk reads the booking
    side does not: at scale 128 pgbench_accounts is 1.6 GB, and a run of 2026-11-23 that reused
    tables the page cache had dropped measured TPC-B at 7.5 ms per transaction at 1 client
    (1.0 ms warm) and B1 ratios of 0.5-7. A sequential scan reads through the OS page cache."""
    with timed() as t, psycopg.connect(url, autocommit=True) as conn:
        for table in ("pgbench_accounts", "pgbench_branches", "pgbench_tellers",
                      "pgbench_history"):
            conn.execute(f"SELECT count(*) FROM {table}")
    log(f"  pgbench tables read into the page cache in {t['seconds']:.1f} s")
    return round(t["seconds"], 1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        run = json.loads(Path(args.report).read_text())
        png = report.chart(run, run["stamp"])
        report.scaling_chart(run, run["stamp"])
        report.update_readme(run, every_benchmark(run.get("only") or ALL))
        log(f"rewrote bench/README.md from {args.report}" + (f" and {png.name}" if png else ""))
        return 0
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    server = server_info()
    log(f"server {server['version'].split(',')[0]} at {server['host']}:{server['port']}; "
        f"running {','.join(args.only)} ({'quick' if args.quick else 'full'}, "
        f"{args.leg} s legs)")
    bench_url = url_for(BENCH_DB)
    try:
        pgbench_bin = pgbench.find_pgbench(server["version_num"] // 10000)
    except pgbench.PgbenchMissing as exc:
        pgbench_bin = ""
        needs = [b for b in ("B1", "B1r", "B2", "B2h", "B4", "B8") if b in args.only]
        if needs:
            log(f"{exc}: {', '.join(needs)} are reported as not measured")
            args.only = [b for b in args.only if b not in needs]
            missing_pgbench = [not_measured(b, b, TITLES[b], str(exc)) for b in needs]
        else:
            missing_pgbench = []
    else:
        missing_pgbench = []
    ctx = workloads.Context(url=bench_url, pgbench_url=url_for(PGBENCH_DB),
                            pgbench_bin=pgbench_bin, leg=args.leg, quick=args.quick,
                            rounds=args.rounds)
    run: dict[str, object] = {
        "stamp": stamp, "mode": "quick" if args.quick else "full", "only": args.only,
        "schema_source": args.schema_source, "leg_seconds": args.leg, "rounds": args.rounds,
        "b7_scale": args.scale,
        "server": server, "machine": machine(), "pgbench": ctx.pgbench_bin,
    }
    figures: dict[str, list[Figure]] = {f.bench: [f] for f in missing_pgbench}

    def attempt(name: str, fn) -> None:
        try:
            figures[name] = fn()
        except Exception as exc:  # one broken benchmark must not lose the others' results
            log(f"{name} failed: {exc}")
            traceback.print_exc()
            figures[name] = [not_measured(name, name, TITLES[name],
                                          f"{type(exc).__name__}: {exc}", status="error")]

    recreate_database(BENCH_DB)
    log(f"{BENCH_DB}: schema from {args.schema_source}, fixture")
    with timed() as t:
        fixtures.build(bench_url, args.schema_source)
        run["fixture"] = fixtures.load(bench_url)
    run["fixture"]["seconds"] = round(t["seconds"], 1)
    if {"B1", "B2", "B8"} & set(args.only):
        run["pgbench_db"] = prepare_pgbench_db(ctx)
    try:
        if "B3" in args.only:
            attempt("B3", lambda: workloads.b3(ctx))
        if "B1" in args.only:
            attempt("B1", lambda: workloads.b1(ctx))
            try:
                run["profile"] = workloads.profile(
                    workloads.Context(**{**ctx.__dict__, "leg": min(ctx.leg, 5), "rounds": 1}))
            except Exception as exc:
                log(f"profile failed: {exc}")
                run["profile"] = {"error": str(exc)}
        if "B8" in args.only:
            # one round per point: the curve has seven of them
            attempt("B8", lambda: workloads.b8(workloads.Context(**{**ctx.__dict__, "rounds": 1})))
        if "B1r" in args.only:
            attempt("B1r", lambda: workloads.b1r(ctx))
        if "B2" in args.only:
            attempt("B2", lambda: workloads.b2(ctx))
        if "B2h" in args.only:
            attempt("B2h", lambda: workloads.b2h(ctx))
        if "B4" in args.only:
            attempt("B4", lambda: workloads.b4(ctx))
        if {"B5", "B5m"} & set(args.only):  # one push gives both
            attempt("B5", lambda: workloads.b5(ctx))
        run["invariants"] = fixtures.invariant_violations(bench_url)
        log(f"invariants: {run['invariants'] or 'all hold'}")
        run["bench_db_rows"] = fixtures.counts(bench_url)
        if "B6" in args.only:
            attempt("B6", lambda: workloads.b6(ctx, args.schema_source))
        if "B7" in args.only:
            attempt("B7", lambda: workloads.b7(ctx, args.scale))
        if "B9" in args.only:
            attempt("B9", lambda: webhooks_bench.b9(args.quick, args.schema_source))
        if "B10" in args.only:
            attempt("B10", lambda: adoption.b10(args.quick))
        if "B11" in args.only:
            attempt("B11", lambda: first_import.b11(args.quick, args.schema_source))
        if "B12" in args.only:
            attempt("B12", lambda: worker_backlog.b12(args.quick, args.schema_source))
        if "B12n" in args.only:
            attempt("B12n", lambda: [worker_backlog.b12n(args.quick, args.schema_source)])
        if "B18" in args.only:
            attempt("B18", lambda: upgrade_live.b18(args.quick))
    finally:
        if not args.keep:
            with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')

    run["figures"] = [f.as_dict() for name in ALL for f in figures.get(name, [])]
    run["duration_s"] = round(time.monotonic() - started, 1)
    path = report.write_json(run, stamp)
    png = report.chart(run, stamp)
    report.scaling_chart(run, stamp)
    full = every_benchmark(args.only)
    report.update_readme(run, full)
    log(f"wrote {path.relative_to(HERE.parent)}"
        + (f", {png.relative_to(HERE.parent)}" if png else "") + " and bench/README.md "
        + ("" if full else "(not its Results table: a run of some benchmarks) ")
        + f"({run['duration_s']:.0f} s)")
    for fig in run["figures"]:
        verdict = {True: "pass", False: "MISS", None: "-"}[fig["passed"]] \
            if fig["status"] == "measured" else fig["status"].upper()
        log(f"  {fig['id']:<12} ratio {fig['ratio']!s:<8} target {fig['target']!s:<6} "
            f"{verdict} {fig['note'][:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
