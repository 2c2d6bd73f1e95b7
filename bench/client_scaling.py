"""What a booking costs the machine as clients outnumber cores, leg by leg on one database.

    .venv/bin/python bench/client_scaling.py [--clients 8,86] [--rounds 3] [--leg 12]
                                             [--warmup 3] [--workloads spread,raw,tpcb]

Client counts alternate (8, 86, 8, 86, ...), so the bookings already made weigh on both counts
alike and a figure that falls with clients is not the table growing. For each pgbench leg
(`-M prepared`, 2 threads, a checkpoint before it):

- tps over the whole leg, and after its first --warmup seconds (pgbench's per-second progress):
  pgbench opens new connections every leg, and a new backend compiles its PL/pgSQL functions
  and plans its statements (custom plans for their first five runs) before it runs at its
  steady rate, which a PostgREST pool's long-lived connections do not pay;
- the machine's busy CPU per transaction (`/proc/stat`: user and system, every process,
  pgbench included) and its context switches per transaction.

Workloads: `spread` (B1's create_booking over 1,009 exams), `raw` (B1r's reference: the same
rows by plain SQL), `tpcb` (pgbench's built-in TPC-B at a scale of the most clients). On its own
databases (mockbook_scaling, mockbook_scaling_tpcb; built as the benchmarks build theirs,
dropped at the end). Results: docs/performance.md, "Scaling with clients".
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixtures
import pgbench
from common import recreate_database, url_for

DB = "mockbook_scaling"
TPCB_DB = "mockbook_scaling_tpcb"
PROGRESS = re.compile(r"progress: ([\d.]+) s, ([\d.]+) tps")


def machine_counters() -> tuple[int, int, int]:
    """(user, system, context switches) since boot; CPU in clock ticks (USER_HZ)."""
    lines = Path("/proc/stat").read_text().splitlines()
    cpu = [int(x) for x in lines[0].split()[1:]]
    ctxt = next(int(line.split()[1]) for line in lines if line.startswith("ctxt"))
    return cpu[0] + cpu[1], cpu[2] + cpu[5] + cpu[6], ctxt


def leg(url: str, clients: int, seconds: int, warmup: int, script: str | None) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    before = machine_counters()
    result = pgbench.run(pgbench.find_pgbench(), url, clients=clients, seconds=seconds,
                         script=script, builtin=None if script else "tpcb-like", progress=True)
    after = machine_counters()
    if not result.ok or not result.transactions:
        raise SystemExit(result.describe())
    steady = [float(m.group(2)) for m in PROGRESS.finditer(result.output)
              if float(m.group(1)) > warmup]
    tx = result.transactions
    ticks = 1e6 / 100  # µs per USER_HZ tick
    return {"clients": clients, "tps": result.tps,
            "steady_tps": statistics.fmean(steady) if steady else None,
            "user_us": (after[0] - before[0]) * ticks / tx,
            "sys_us": (after[1] - before[1]) * ticks / tx,
            "ctxsw": (after[2] - before[2]) / tx}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="8,86")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--leg", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workloads", default="spread,raw,tpcb")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    workloads = args.workloads.split(",")
    url, tpcb_url = url_for(DB), url_for(TPCB_DB)
    recreate_database(DB)
    try:
        fixtures.build(url, "alembic")
        fixtures.load(url)
        if "tpcb" in workloads:
            recreate_database(TPCB_DB)
            pgbench.initialise(pgbench.find_pgbench(), tpcb_url, max(counts))
        scripts = {"spread": (url, fixtures.SPREAD_SCRIPT),
                   "raw": (url, fixtures.RAW_WRITES_SCRIPT), "tpcb": (tpcb_url, None)}
        rows: dict[tuple[str, int], list[dict]] = {}
        for _ in range(args.rounds):
            for workload in workloads:
                target, script = scripts[workload]
                for clients in counts:
                    r = leg(target, clients, args.leg, args.warmup, script)
                    rows.setdefault((workload, clients), []).append(r)
                    print(f"{workload:6} {clients:3} clients: {r['tps']:7.0f} tps "
                          f"(after {args.warmup} s: {r['steady_tps'] or 0:7.0f}), "
                          f"{r['user_us']:5.0f} µs user + {r['sys_us']:4.0f} µs system, "
                          f"{r['ctxsw']:4.1f} context switches per transaction", flush=True)
        print(f"\nmedians of {args.rounds} legs; ratio = the count's tps ÷ {counts[0]} clients'")
        for workload in workloads:
            base = rows[(workload, counts[0])]
            for clients in counts:
                legs = rows[(workload, clients)]
                med = {k: statistics.median(r[k] for r in legs)
                       for k in ("tps", "steady_tps", "user_us", "sys_us", "ctxsw")}
                ratio = med["tps"] / statistics.median(r["tps"] for r in base)
                steady = med["steady_tps"] / statistics.median(r["steady_tps"] for r in base)
                print(f"{workload:6} {clients:3}: {med['tps']:7.0f} tps ({ratio:.2f}), steady "
                      f"{med['steady_tps']:7.0f} ({steady:.2f}); {med['user_us']:5.0f} + "
                      f"{med['sys_us']:4.0f} µs, {med['ctxsw']:4.1f} switches per transaction")
    finally:
        with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
            for db in (DB, TPCB_DB):
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
