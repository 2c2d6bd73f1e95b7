"""Issue 13 item 3, step by step: the same booking workload (B1's spread script, pgbench
-M prepared) with the audit/outbox trigger designs swapped between legs on one database, in
ABBA order, so that each design is measured against the other in the same minutes.

    .venv/bin/python bench/trigger_ab.py [--clients 8] [--leg 5] [--rounds 2]

Designs: "none" (no audit/outbox trigger: the floor), "two" (revision 0014's audit_row_change
and queue_sync_change, restored from the downgrade files of the revision that replaced them),
"one" (db/triggers/row_change.sql: one trigger doing both jobs), and "rows" (bench only: one
trigger writing the same two rows per change with no jsonb in them, i.e. the cost of the rows
themselves: heap, indexes, WAL). Builds and drops its own
database, mockbook_bench_triggers. Prints tps per leg and the mean per design.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import fixtures, pgbench

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("hubspot_contact_credits", "hubspot_mock_exams", "hubspot_bookings")
# the two triggers as revision 0014 left them: the downgrade of the revision that replaced
# them (the newest downgrade/ restoring db/triggers/audit.sql and outbox.sql) restores them
OLD = {"audit_row_change": "audit", "queue_sync_change": "outbox"}


def old_sql(name: str) -> str:
    files = sorted(ROOT.glob(f"db/migrations/versions/*/downgrade/*_triggers_{name}.sql"))
    return files[-1].read_text()


# "rows": the audit and outbox rows of a change without their jsonb (measurement only)
ROWS_ONLY = """
CREATE FUNCTION hubspot_sync.bench_rows_only() RETURNS trigger LANGUAGE plpgsql
SET search_path = '' AS $$
BEGIN
    WITH q AS (INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation)
               VALUES (TG_TABLE_NAME, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
                       TG_OP))
    INSERT INTO hubspot_sync.supabase_audit_log (table_name, record_id, operation,
                                                 performed_by, performed_at)
    VALUES (TG_TABLE_NAME, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, TG_OP,
            current_user, now());
    RETURN NULL;
END $$;
""" + "".join(f"""
CREATE TRIGGER bench_rows_only AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.{t}
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.bench_rows_only();""" for t in TABLES)
DESIGNS = {"none": (), "two": tuple(OLD), "one": ("record_row_change",),
           "rows": ("bench_rows_only",)}


def use(url: str, design: str) -> None:
    on = DESIGNS[design]
    with psycopg.connect(url, autocommit=True) as conn:
        for table in TABLES:
            for trig in (*OLD, "record_row_change", "bench_rows_only"):
                act = "ENABLE" if trig in on else "DISABLE"
                conn.execute(f"ALTER TABLE hubspot_sync.{table} {act} TRIGGER {trig}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--leg", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--base", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    db = "mockbook_bench_triggers"
    url = args.base.rsplit("/", 1)[0] + "/" + db
    with psycopg.connect(args.base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db}")
        conn.execute(f"CREATE DATABASE {db}")
    try:
        fixtures.build(url, "db")
        fixtures.load(url)
        with psycopg.connect(url, autocommit=True) as conn:
            for name in OLD.values():
                conn.execute(old_sql(name))
            conn.execute(ROWS_ONLY)
        binary = pgbench.find_pgbench()
        tps: dict[str, list[float]] = {d: [] for d in DESIGNS}
        order = []
        for _ in range(args.rounds):
            order += ["none", "two", "one", "rows", "rows", "one", "two", "none"]
        for design in order:
            use(url, design)
            r = pgbench.run(binary, url, clients=args.clients, seconds=args.leg,
                            script=fixtures.SPREAD_SCRIPT)
            if not r.ok:
                sys.exit(r.describe())
            tps[design].append(r.tps)
            print(f"{design:5s} {r.tps:8.1f} tps  {r.latency_ms} ms", flush=True)
        mean = {k: statistics.mean(v) for k, v in tps.items()}
        print(f"clients {args.clients}, {args.rounds} x ABBA, {args.leg} s legs: "
              + ", ".join(f"{k} {v:.1f}" for k, v in mean.items())
              + "; vs none: " + ", ".join(f"{k} {mean[k] / mean['none']:.3f}"
                                          for k in ("two", "one", "rows"))
              + f"; one/two {mean['one'] / mean['two']:.3f}")
    finally:
        with psycopg.connect(args.base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
