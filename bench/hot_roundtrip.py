"""B2 taken apart: how much of the hot exam's gap is the COMMIT's round trip under the lock?

The seat is the booking's last statement, so the exam row is locked from that statement to the
commit. PostgREST sends a request's statements one at a time (BEGIN, the settings, the call,
COMMIT: PostgREST issue #2295 "pipeline mode" and PR #5253 are open, not released), so that lock
also spans the function's return, the result's trip to the client and the client's COMMIT
message. B2's reference, pgbench's one-row UPDATE, is one autocommit statement: no round trip
under its lock. This runs, on one hot exam, in ABBA order (reference, A, B / B, A, reference):

  ref  the one-row UPDATE of B2's reference (on bench.hot_row, in the same database)
  A    B2's booking transaction as PostgREST sends it: four messages
  B    the same statements as one compound message (`BEGIN \\; ... \\; END`): the lock is
       released by a COMMIT that needs no further message from the client

All three in pgbench's simple protocol (the only one that sends a compound line as one message),
so B's ratio to A is the round trip alone; A's ratio to the reference is below B2's (prepared).

    .venv/bin/python bench/hot_roundtrip.py [--clients 8,32] [--leg 5] [--rounds 2]

Builds and drops its own database (mockbook_bench_hot, schema from db/, B1's fixture).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixtures
import pgbench
from common import admin_url, recreate_database

REFERENCE = "UPDATE bench.hot_row SET n = n + 1 WHERE id = 1;\n"


def one_message(script: str) -> str:
    """The script's statements joined into one compound line (sent as one Query message)."""
    statements = [line.rstrip().rstrip(";") for line in script.strip().splitlines()]
    return " \\;\n".join(statements) + ";\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="8,32")
    parser.add_argument("--leg", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="ABBA rounds per client count")
    parser.add_argument("--db", default="mockbook_bench_hot")
    args = parser.parse_args()

    url = recreate_database(args.db)
    fixtures.build(url, "db")
    fixtures.load(url)
    binary = pgbench.find_pgbench()
    try:
        for k, clients in enumerate(int(c) for c in args.clients.split(",")):
            exam = f"BH{k}"
            with psycopg.connect(url, autocommit=True) as conn:
                fixtures.add_exam(conn, exam, fixtures.HOT_DAY_OFFSET + k, 100_000_000)
            scripts = {"ref": REFERENCE, "A": fixtures.hot_script(exam)}
            scripts["B"] = one_message(scripts["A"])
            legs: dict[str, list[float]] = {name: [] for name in scripts}
            for _ in range(args.rounds):
                for order in (("ref", "A", "B"), ("B", "A", "ref")):
                    for name in order:
                        result = pgbench.run(binary, url, clients=clients, seconds=args.leg,
                                             script=scripts[name], mode="simple")
                        if not result.ok:
                            sys.exit(f"{name} at {clients} clients failed: {result.describe()}")
                        legs[name].append(result.tps)
            mean = {name: statistics.mean(v) for name, v in legs.items()}
            print(f"{clients} clients, {len(legs['ref'])} legs each: one-row UPDATE "
                  f"{mean['ref']:,.0f} tps; A (PostgREST, 4 messages) {mean['A']:,.0f} tps = "
                  f"{mean['A'] / mean['ref']:.3f}; B (1 message) {mean['B']:,.0f} tps = "
                  f"{mean['B'] / mean['ref']:.3f}; B / A = {mean['B'] / mean['A']:.2f}",
                  flush=True)
            for name, v in legs.items():
                print(f"  {name} legs: " + ", ".join(f"{x:,.0f}" for x in v))
        violations = fixtures.invariant_violations(url)
        print("the invariants: " + ("all hold" if not violations else "; ".join(violations)))
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
