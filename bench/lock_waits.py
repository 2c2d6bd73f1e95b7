"""What a booking locks, and what the booking backends wait on with many clients.

    .venv/bin/python bench/lock_waits.py [--clients 86] [--seconds 30] [--workload spread|raw]

1. The relation locks one booking holds (pg_locks, inside its transaction, on one connection):
   on the first call and on the seventh (PL/pgSQL's generic plans from the sixth call on), how
   many and how many went through the shared lock table instead of the 16 fast-path slots.
2. pgbench with B1's workload (or B1r's raw writes) at --clients for --seconds while another
   connection samples pg_stat_activity's wait_event of the active pgbench backends every 20 ms.

On its own database (mockbook_locks, built as the benchmarks build theirs, dropped at the end).
Results: docs/performance.md, "Scaling with clients".
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixtures
import pgbench
from common import recreate_database, url_for

DB = "mockbook_locks"
LOCKS = """SELECT count(*), count(*) FILTER (WHERE NOT fastpath),
                  count(DISTINCT relation), count(DISTINCT relation) FILTER (WHERE NOT fastpath)
           FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation'
             AND relation <> 'pg_catalog.pg_locks'::regclass"""


def locks_of_a_booking(url: str) -> list[tuple[int, tuple[int, ...]]]:
    """(call number, (lock entries, entries not fast-path, relations, relations not fast-path))
    for the 1st and 7th booking of one connection."""
    preamble, booking = [s for s in fixtures.SPREAD_SCRIPT.split(";\n")
                         if s.strip() and s.strip() not in ("BEGIN", "END;", "END")][:2]
    seen = []
    with psycopg.connect(url) as conn:
        for call in range(1, 8):
            conn.execute(preamble)
            conn.execute(booking)
            conn.execute("RESET ROLE")
            if call in (1, 7):
                seen.append((call, conn.execute(LOCKS).fetchone()))
            conn.commit()
    return seen


def waits(url: str, clients: int, seconds: int, script: str) -> tuple[float, Counter, int]:
    counts: Counter = Counter()
    done = threading.Event()

    def sample() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not done.is_set():
                for row in conn.execute(
                        "SELECT coalesce(wait_event_type, 'CPU'), coalesce(wait_event, 'running')"
                        " FROM pg_stat_activity WHERE application_name = 'pgbench'"
                        " AND backend_type = 'client backend' AND state <> 'idle'"):
                    counts[row] += 1
                time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = pgbench.run(pgbench.find_pgbench(), url, clients=clients, seconds=seconds,
                             script=script)
    finally:
        done.set()
        sampler.join()
    return result.tps, counts, sum(counts.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=86)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workload", choices=("spread", "raw"), default="spread")
    args = parser.parse_args()
    url = url_for(DB)
    recreate_database(DB)
    try:
        fixtures.build(url, "alembic")
        fixtures.load(url)
        for call, (entries, shared, relations, shared_rel) in locks_of_a_booking(url):
            print(f"booking call {call}: {entries} relation lock entries ({shared} in the shared "
                  f"lock table) on {relations} relations ({shared_rel} not fast-path)")
        script = fixtures.SPREAD_SCRIPT if args.workload == "spread" else fixtures.RAW_WRITES_SCRIPT
        tps, counts, total = waits(url, args.clients, args.seconds, script)
        print(f"{args.workload} at {args.clients} clients for {args.seconds} s: {tps:.1f} tps, "
              f"{total} backend samples")
        for (kind, event), n in counts.most_common(10):
            print(f"  {kind:8} {event:22} {100 * n / total:5.1f} %")
    finally:
        with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
