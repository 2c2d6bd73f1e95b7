"""Where a booking's CPU goes inside PostgreSQL: a sampling profile of the server process that
serves one connection making bookings (Linux `perf`, call graphs through DWARF unwinding).

The profile of `workloads.profile` says which PL/pgSQL function and which SQL statement a
booking spends its time in. This one says what the server does for them: triggers, index
entries, executor start-up per statement, CHECK constraints, the PL/pgSQL expressions set up
again in every transaction, the commit's WAL flush, the client's messages. Each row is the share
of the samples whose call stack contains the function named (inclusive time), so rows overlap
(the index entries written by the audit/outbox trigger count in both rows).

It needs `perf` (Debian: linux-perf) and a server on this machine (the backend's pid is
profiled); without them it says why and measures nothing. Used by `make bench` (the profile
section) and on its own:

    .venv/bin/python bench/cpu_profile.py --db mockbook_bench --seconds 6
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

FREQUENCY = 1999  # samples per second of CPU time (an odd rate: no lockstep with timers)

# (label, PostgreSQL C function whose inclusive share is the row). In PostgreSQL 15's sources:
# AfterTriggerEndQuery runs the AFTER ROW triggers (record_row_change); ExecInsertIndexTuples
# writes a new row version's index entries; standard_ExecutorStart builds a statement's executor
# tree, every execution; ExecConstraints checks CHECK constraints, parsing their stored
# expressions again for each statement (ExecRelCheck -> stringToNode); ExecInitExprWithParams is
# where PL/pgSQL compiles a "simple expression" the first time it runs in a transaction;
# GetCachedPlan checks a cached plan is still valid; AtEOXact_GUC restores the settings a
# function's SET clause changed (SET search_path = '' on every function).
BUCKETS: list[tuple[str, str]] = [
    ("PL/pgSQL functions (create_booking and its helpers)", "plpgsql_exec_function"),
    ("AFTER triggers (record_row_change: audit + outbox rows)", "AfterTriggerEndQuery"),
    ("index entries written (all tables)", "ExecInsertIndexTuples"),
    ("heap rows written (insert + update)", "heap_insert|heap_update"),
    ("executor start-up, per statement", "standard_ExecutorStart"),
    ("PL/pgSQL expressions set up, per transaction", "ExecInitExprWithParams"),
    ("CHECK constraints (parsed again per statement)", "ExecConstraints"),
    ("rows turned into jsonb (to_jsonb)", "to_jsonb"),
    ("cached plans revalidated", "GetCachedPlan"),
    ("index lookups (reads)", "index_getnext_slot"),
    ("function SET search_path restored (AtEOXact_GUC)", "AtEOXact_GUC"),
    ("relation locks", "LockAcquireExtended"),
    ("commit", "CommitTransactionCommand"),
    ("  of which the WAL flush (fdatasync)", "XLogFlush"),
    ("client messages (socket reads and writes)", "secure_read|secure_write"),
]


def perf_available() -> str | None:
    """None when `perf` can profile here, else why not."""
    if not shutil.which("perf"):
        return "perf is not installed (Debian: apt-get install linux-perf)"
    probe = subprocess.run(["perf", "record", "-q", "-o", "/dev/null", "--", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"perf record fails here: {probe.stderr.strip()[:200]}"
    return None


def _samples(script_output: str) -> list[list[str]]:
    """`perf script -F ip,sym` output: one block of '<ip> <symbol>' lines per sample."""
    samples: list[list[str]] = []
    current: list[str] = []
    for line in script_output.splitlines():
        fields = line.split(None, 1)
        if not fields:
            if current:
                samples.append(current)
                current = []
            continue
        current.append(fields[1].strip() if len(fields) > 1 else "[unknown]")
    if current:
        samples.append(current)
    return samples


def buckets(samples: list[list[str]]) -> list[dict[str, Any]]:
    total = len(samples) or 1
    rows = []
    for label, names in BUCKETS:
        wanted = set(names.split("|"))
        hits = sum(1 for stack in samples if wanted.intersection(stack))
        rows.append({"what": label, "functions": names, "share": round(hits / total, 4)})
    return rows


def top_self(samples: list[list[str]], n: int = 15) -> list[dict[str, Any]]:
    """The functions the samples were taken in (self time), resolved names only."""
    total = len(samples) or 1
    counts = collections.Counter(stack[0] for stack in samples if stack)
    return [{"function": name, "share": round(c / total, 4)}
            for name, c in counts.most_common(n * 3)
            if not name.startswith(("[unknown]", "0x"))][:n]


def booking_cpu(url: str, statements: list[str], seconds: float = 6.0) -> dict[str, Any]:
    """Profile the backend of one connection running `statements` (one booking transaction,
    autocommit statements BEGIN ... END) in a loop for `seconds`."""
    if why := perf_available():
        return {"error": why}
    with psycopg.connect(url, autocommit=True) as conn, \
            tempfile.TemporaryDirectory(prefix="mockbook-perf-") as tmp:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        cur = conn.cursor()
        for _ in range(50):  # warm: plans cached, relations open
            for sql in statements:
                cur.execute(sql)
        data = str(Path(tmp) / "perf.data")
        done = threading.Event()
        count = 0

        def drive() -> None:
            nonlocal count
            while not done.is_set():
                for sql in statements:
                    cur.execute(sql)
                count += 1

        record = subprocess.Popen(
            ["perf", "record", "-q", "-F", str(FREQUENCY), "--call-graph", "dwarf,16384",
             "-p", str(pid), "-o", data, "--", "sleep", str(seconds)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        driver = threading.Thread(target=drive, daemon=True)
        time.sleep(0.2)  # perf attached
        driver.start()
        _, err = record.communicate(timeout=seconds + 120)
        done.set()
        driver.join(timeout=30)
        if record.returncode != 0:
            return {"error": f"perf record: {err.strip()[:300]}"}
        script = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym", "--no-demangle"],
                                capture_output=True, text=True, timeout=600)
    samples = _samples(script.stdout)
    if not samples:
        return {"error": "perf recorded no samples of the backend"}
    return {
        "seconds": seconds,
        "frequency": FREQUENCY,
        "bookings": count,
        "samples": len(samples),
        "buckets": buckets(samples),
        "top_self": top_self(samples),
        "how": (f"perf record -F {FREQUENCY} --call-graph dwarf of the server process of one "
                f"connection making bookings in a loop for {seconds:g} s (after 50 warm-up "
                "bookings); share = samples whose call stack contains the function "
                "(inclusive, rows overlap)"),
    }


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import fixtures

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="mockbook_bench", help="a bench database (make bench --keep)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--seconds", type=float, default=6.0)
    args = ap.parse_args(argv)
    statements = [s for s in fixtures.SPREAD_SCRIPT.split(";\n") if s.strip()]
    out = booking_cpu(f"host={args.host} dbname={args.db}", statements, args.seconds)
    if "error" in out:
        print(out["error"], file=sys.stderr)
        return 1
    print(f"{out['bookings']} bookings, {out['samples']} samples")
    for row in out["buckets"]:
        print(f"{100 * row['share']:6.1f} %  {row['what']}")
    print("self:")
    for row in out["top_self"]:
        print(f"{100 * row['share']:6.1f} %  {row['function']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
