"""B4 against the outbox's backlog: the audit/outbox trigger on ÷ off with the outbox as the
bench leaves it (nothing drained), drained, and drained with its done rows deleted.

    .venv/bin/python bench/b4_backlog.py [--load 240] [--clients 32] [--leg 10] [--rounds 2]

`make bench` never drains the outbox, so B4 runs with every outbox row since the start still
pending, in the worker's two partial indexes (`WHERE done_at IS NULL`), where a running worker
keeps them to a few seconds of bookings. This builds the bench's fixture on its own database
(mockbook_b4_backlog, dropped at the end), books for --load seconds at 8 clients, then measures
B4's legs (B1's spread script, pgbench -M prepared, ABBA, a checkpoint before each leg) in the
three states one after the other. Results: docs/performance.md, "What B4 can reach".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixtures
import pgbench
import workloads
from common import recreate_database, url_for

DB = "mockbook_b4_backlog"
STATE = """SELECT count(*) FILTER (WHERE done_at IS NULL),
                  pg_relation_size('hubspot_sync.idx_sync_queue_record') / 8192
           FROM hubspot_sync.sync_queue"""
DRAIN = ("UPDATE hubspot_sync.sync_queue SET done_at = now() WHERE done_at IS NULL",
         "VACUUM hubspot_sync.sync_queue")
PURGE = (*DRAIN, "DELETE FROM hubspot_sync.sync_queue WHERE done_at IS NOT NULL",
         "VACUUM hubspot_sync.sync_queue", "REINDEX TABLE hubspot_sync.sync_queue")


def b4(url: str, clients: int, seconds: int, rounds: int) -> tuple[float, list[float]]:
    """B4's ABBA pair (workloads.abba), a checkpoint before every leg: (ratio, per round)."""
    def leg(enabled: bool) -> pgbench.PgbenchResult:
        fixtures.set_outbox_triggers(url, enabled)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
        return pgbench.run(pgbench.find_pgbench(), url, clients=clients, seconds=seconds,
                           script=fixtures.SPREAD_SCRIPT)

    try:
        pair = workloads.abba(lambda: leg(False), lambda: leg(True), rounds)
    finally:
        fixtures.set_outbox_triggers(url, True)
    if pair.failed:
        raise SystemExit(pair.failed[0].describe())
    return pair.subject_tps / pair.reference_tps, pair.round_ratios()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=240, help="seconds of booking first")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--leg", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    url = recreate_database(DB)
    try:
        fixtures.build(url, "alembic")
        fixtures.load(url)
        loaded = pgbench.run(pgbench.find_pgbench(), url, clients=8, seconds=args.load,
                             script=fixtures.SPREAD_SCRIPT)
        print(f"{loaded.transactions} bookings made first", flush=True)
        for label, statements in (("as the bench leaves it", ()), ("drained", DRAIN),
                                  ("drained, done rows deleted, reindexed", PURGE)):
            with psycopg.connect(url, autocommit=True) as conn:
                for sql in statements:
                    conn.execute(sql)
            ratio, per_round = b4(url, args.clients, args.leg, args.rounds)
            with psycopg.connect(url, autocommit=True) as conn:
                pending, pages = conn.execute(STATE).fetchone()
            print(f"{label}: B4 {ratio:.3f} (rounds {per_round}); after its legs {pending:,} "
                  f"rows pending, idx_sync_queue_record {pages:,} pages", flush=True)
    finally:
        with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
