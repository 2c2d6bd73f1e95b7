"""The audit/outbox trigger, step by step: the same booking workload (B1's spread script, pgbench
-M prepared) with the audit/outbox trigger designs swapped between legs on one database, in
ABBA order (a CHECKPOINT before every leg), so that each design is measured against the others
in the same minutes.

    .venv/bin/python bench/trigger_ab.py [--clients 8] [--leg 5] [--rounds 2] [--designs a,b,..]
    .venv/bin/python bench/trigger_ab.py --wal 500 --designs none,one,merged   # WAL per booking

Designs (bench/README.md): "none" (no audit/outbox trigger: the floor), "two"
(audit_row_change and queue_sync_change, the two triggers record_row_change replaced:
bench/trigger_designs/two_audit.sql and two_outbox.sql), "one" (db/triggers/row_change.sql:
one trigger doing both jobs, as shipped), "rows" (the same two rows per change with no jsonb
in them: the cost of the rows themselves), "bare" (those rows into copies of the two tables
with only their primary keys: the floor of two rows per change), and the prototypes of the
next step: "merged" (one table with the audit and the outbox columns, one row per change: the
audit row serving as the outbox row), "merged3" (the same without the notes' pending index),
"lean" (today's rows without the two (table_name, record_id) indexes), "narrow" / "narrow2"
(today's rows, the outbox's UPDATE rows holding only the changed columns (and the identity
columns) instead of whole rows), all four built on "jsonb" (record_row_change before it
compared columns directly: the UPDATE diff walked in jsonb, bench/trigger_designs/jsonb.sql;
"one" compares the columns directly), and any --sql NAME=FILE (bench/trigger_designs/).
Everything but "one", "two" and "jsonb" is bench-only SQL.

--wal N measures, instead of tps, the WAL one booking writes (pg_walinspect, this connection's
transactions only: the same on a loaded server, where tps swings 2x between legs). Builds and
drops its own database (--db, default mockbook_bench_triggers). Prints tps per leg and the mean
per design.
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
# the two triggers that preceded record_row_change (bench/trigger_designs/two_*.sql)
OLD = {"audit_row_change": "audit", "queue_sync_change": "outbox"}
DESIGN_SQL = ROOT / "bench" / "trigger_designs"


def old_sql(name: str) -> str:
    return (DESIGN_SQL / f"two_{name}.sql").read_text()


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

# "bare": the rows of "rows" written into copies of the two tables that keep only their primary
# keys (no secondary index, no CHECK): the least two rows per change can cost, the floor of any
# design that writes an audit row and an outbox row in the booking's transaction
BARE = """
CREATE TABLE hubspot_sync.bare_sq (LIKE hubspot_sync.sync_queue INCLUDING DEFAULTS);
ALTER TABLE hubspot_sync.bare_sq ADD PRIMARY KEY (id);
CREATE TABLE hubspot_sync.bare_audit (LIKE hubspot_sync.supabase_audit_log INCLUDING DEFAULTS);
ALTER TABLE hubspot_sync.bare_audit ADD PRIMARY KEY (id);
""" + ROWS_ONLY.replace("bench_rows_only", "bench_bare").replace(
    "hubspot_sync.sync_queue ", "hubspot_sync.bare_sq ").replace(
    "hubspot_sync.supabase_audit_log ", "hubspot_sync.bare_audit ")

# "merged" (bench only: the go/no-go of "audit row serving as the outbox row"): one
# table with the audit and the outbox columns, one row per change (3 per booking instead of 6):
# the whole old/new rows as the outbox has them (the audit's UPDATE diff is derivable from
# them and changed_fields), the outbox's life-cycle columns, and the indexes both jobs need:
# the key, (table_name, record_id), the outbox's pending index, the notes' pending index.
# "merged3" is the same table without the notes' pending index (what that index costs);
# "lean" keeps today's 6 rows but drops idx_sync_queue_record and idx_audit_log_table_record
# (the index lever alone, on copies of the two tables).
MERGED_TABLE = """
CREATE TABLE hubspot_sync.{t} (
    id bigserial PRIMARY KEY,
    table_name text NOT NULL,
    record_id uuid NOT NULL,
    record_hubspot_id text,
    operation text NOT NULL,
    changed_fields jsonb,
    old_data jsonb,
    new_data jsonb,
    performed_by text,
    performed_at timestamptz NOT NULL DEFAULT now(),
    synced_to_hubspot_at timestamptz,
    queued boolean NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    lease_owner text,
    lease_expires_at timestamptz,
    done_at timestamptz,
    dead_at timestamptz);
CREATE INDEX ON hubspot_sync.{t} (table_name, record_id);
CREATE INDEX ON hubspot_sync.{t} (next_attempt_at, id)
    WHERE queued AND done_at IS NULL AND dead_at IS NULL;
ALTER TABLE hubspot_sync.{t} ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.{t}
    FOR ALL TO service_role USING (true) WITH CHECK (true);
"""
MERGED_FN = """
CREATE FUNCTION hubspot_sync.bench_{t}() RETURNS trigger LANGUAGE plpgsql
SET search_path = '' AS $$
DECLARE
    v_bookkeeping constant text[] := ARRAY['synced_at', 'hubspot_last_sync_at', 'updated_at'];
    v_queue constant boolean :=
        coalesce(current_setting('mockbook.origin', true), '') NOT IN ('hubspot', 'sync');
    v_old jsonb;
    v_new jsonb;
    v_claims constant jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
    v_actor constant text := nullif(current_setting('mockbook.actor', true), '');
    v_who constant text := coalesce(
        CASE WHEN v_claims ?| ARRAY['sub', 'email']
             THEN mockbook_internal.request_actor(v_actor) END,
        v_actor, nullif(v_claims ->> 'role', ''), current_user);
BEGIN
    IF TG_OP = 'UPDATE' THEN
        v_new := to_jsonb(NEW);
        v_old := to_jsonb(OLD);
        INSERT INTO hubspot_sync.{t} (table_name, record_id, record_hubspot_id, operation,
            changed_fields, old_data, new_data, performed_by, performed_at, queued)
        SELECT TG_TABLE_NAME, NEW.id, NEW.hubspot_id, TG_OP, jsonb_agg(n.key ORDER BY n.key),
               v_old, v_new, v_who, now(), v_queue
        FROM jsonb_each(v_new) AS n
        WHERE n.key <> ALL (v_bookkeeping)
          AND n.value IS DISTINCT FROM v_old -> n.key
        HAVING count(*) > 0;
    ELSE
        IF TG_OP = 'INSERT' THEN
            v_new := to_jsonb(NEW);
        ELSE
            v_old := to_jsonb(OLD);
        END IF;
        INSERT INTO hubspot_sync.{t} (table_name, record_id, record_hubspot_id, operation,
            changed_fields, old_data, new_data, performed_by, performed_at, queued)
        SELECT TG_TABLE_NAME, (coalesce(v_new, v_old) ->> 'id')::uuid,
               coalesce(v_new, v_old) ->> 'hubspot_id', TG_OP,
               coalesce(jsonb_agg(k.key ORDER BY k.key), '[]'::jsonb), v_old, v_new,
               v_who, now(), v_queue
        FROM jsonb_object_keys(jsonb_strip_nulls(coalesce(v_new, v_old)) - v_bookkeeping)
             AS k(key);
    END IF;
    RETURN NULL;
END $$;
"""
MERGED = "".join(
    MERGED_TABLE.format(t=t) + MERGED_FN.format(t=t)
    + "".join(f"""
CREATE TRIGGER bench_{t} AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.{table}
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.bench_{t}();""" for table in TABLES)
    for t in ("merged", "merged3")) + """
CREATE INDEX ON hubspot_sync.merged (id) WHERE synced_to_hubspot_at IS NULL;
"""


def jsonb_diff_sql() -> str:
    """record_row_change as it was before it compared columns directly (the UPDATE diff in
    jsonb: to_jsonb of OLD and NEW walked with jsonb_each; bench/trigger_designs/jsonb.sql):
    design "jsonb", and the base of the lean/narrow prototypes, which were measured against
    it."""
    return (DESIGN_SQL / "jsonb.sql").read_text()


def lean_sql() -> str:
    """record_row_change writing into copies of the two tables without their record indexes."""
    fn = jsonb_diff_sql()
    fn = fn.split("\nCOMMENT ON FUNCTION")[0]
    fn = (fn.replace("mockbook_internal.record_row_change()", "hubspot_sync.bench_lean()")
            .replace("hubspot_sync.sync_queue ", "hubspot_sync.lean_sq ")
            .replace("hubspot_sync.supabase_audit_log ", "hubspot_sync.lean_audit "))
    return f"""
CREATE TABLE hubspot_sync.lean_sq (LIKE hubspot_sync.sync_queue INCLUDING ALL);
DROP INDEX hubspot_sync.lean_sq_table_name_record_id_idx;
CREATE TABLE hubspot_sync.lean_audit (LIKE hubspot_sync.supabase_audit_log INCLUDING ALL);
DROP INDEX hubspot_sync.lean_audit_table_name_record_id_idx;
{fn}
""" + "".join(f"""
CREATE TRIGGER bench_lean AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.{t}
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.bench_lean();""" for t in TABLES)


def narrow_sql() -> str:
    """record_row_change (same two tables, same 6 rows) with the outbox's UPDATE rows narrowed:
    old_data holds only the changed columns' old values (the audit diff), new_data the whole
    new row."""
    fn = jsonb_diff_sql()
    fn = fn.split("\nCOMMENT ON FUNCTION")[0]
    marker = "SELECT TG_TABLE_NAME, NEW.id, TG_OP, v_old, v_new\n            FROM diff"
    assert marker in fn, "row_change.sql changed: update narrow_sql()"
    fn = (fn.replace("mockbook_internal.record_row_change()", "hubspot_sync.bench_narrow()")
            .replace(marker, "SELECT TG_TABLE_NAME, NEW.id, TG_OP, diff.old_values, v_new\n"
                             "            FROM diff"))
    return fn + "".join(f"""
CREATE TRIGGER bench_narrow AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.{t}
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.bench_narrow();""" for t in TABLES)


def narrow2_sql() -> str:
    """Like narrow_sql, and new_data narrowed too: both hold the changed columns plus the
    identity columns the outbox's readers look up (id, hubspot_id, booking_id, student_id,
    associated_mock_exam, associated_contact_id)."""
    fn = narrow_sql().replace("bench_narrow", "bench_narrow2")
    ident = ("jsonb_strip_nulls(jsonb_build_object('id', {r} -> 'id', 'hubspot_id', "
             "{r} -> 'hubspot_id', 'booking_id', {r} -> 'booking_id', 'student_id', "
             "{r} -> 'student_id', 'associated_mock_exam', {r} -> 'associated_mock_exam', "
             "'associated_contact_id', {r} -> 'associated_contact_id'))")
    old = "diff.old_values, v_new\n"
    assert old in fn
    return fn.replace(old, "diff.old_values || " + ident.format(r="v_old") + ", diff.new_values || "
                      + ident.format(r="v_new") + "\n")


DESIGNS = {"none": (), "two": tuple(OLD), "one": ("record_row_change",),
           "rows": ("bench_rows_only",), "bare": ("bench_bare",), "merged": ("bench_merged",),
           "merged3": ("bench_merged3",), "lean": ("bench_lean",), "narrow": ("bench_narrow",),
           "narrow2": ("bench_narrow2",), "jsonb": ("bench_jsonb",)}
ALL_TRIGGERS = [*OLD, "record_row_change", "bench_rows_only", "bench_bare", "bench_merged",
                "bench_merged3", "bench_lean", "bench_narrow", "bench_narrow2", "bench_jsonb"]


def install(url: str, extra: list[tuple[str, str]] = ()) -> None:
    """Every design's trigger function, tables and (disabled: `use` picks one) triggers in the
    database at `url`, beside the shipped record_row_change; `extra`: (NAME, FILE) pairs of
    --sql designs."""
    with psycopg.connect(url, autocommit=True) as conn:
        for name in OLD.values():
            conn.execute(old_sql(name))
        conn.execute(ROWS_ONLY)
        conn.execute(BARE)
        conn.execute(MERGED)
        conn.execute(lean_sql())
        conn.execute(narrow_sql())
        conn.execute(narrow2_sql())
        conn.execute(jsonb_diff_sql().split("\nCOMMENT ON FUNCTION")[0].replace(
            "mockbook_internal.record_row_change()", "hubspot_sync.bench_jsonb()")
            + "".join(f"""
CREATE TRIGGER bench_jsonb AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.{t}
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.bench_jsonb();""" for t in TABLES))
        for name, path in extra:
            conn.execute(Path(path).read_text())
            for t in TABLES:
                conn.execute(f"CREATE TRIGGER bench_{name} AFTER INSERT OR UPDATE OR DELETE"
                             f" ON hubspot_sync.{t} FOR EACH ROW"
                             f" EXECUTE FUNCTION hubspot_sync.bench_{name}()")
            DESIGNS[name] = (f"bench_{name}",)
            ALL_TRIGGERS.append(f"bench_{name}")


def use(url: str, design: str) -> None:
    on = DESIGNS[design]
    with psycopg.connect(url, autocommit=True) as conn:
        for table in TABLES:
            for trig in ALL_TRIGGERS:
                act = "ENABLE" if trig in on else "DISABLE"
                conn.execute(f"ALTER TABLE hubspot_sync.{table} {act} TRIGGER {trig}")


def wal_per_booking(url: str, design: str, n: int, start: int) -> dict[str, float]:
    """The WAL of one booking transaction (create_booking as PostgREST calls it, the commit
    record included), mean of n bookings on one connection, read back with pg_walinspect and
    kept to this connection's transaction ids: other sessions on a shared server do not count,
    so unlike tps this is the same on a loaded machine. Full-page images are counted apart:
    how many there are depends on when the server last checkpointed (any session's CHECKPOINT
    counts), not on the design alone."""
    use(url, design)
    xids = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        lsn0 = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        for i in range(start, start + n):
            with conn.transaction():
                conn.execute(fixtures.POSTGREST_PREAMBLE)
                conn.execute(
                    "SELECT hubspot_sync.create_booking("
                    "p_student_id := 'B' || (%(n)s %% 50000), "
                    "p_email := 'b' || (%(n)s %% 50000) || '@example.com', "
                    "p_mock_exam_id := 'BX' || (%(n)s %% 1009), "
                    "p_idempotency_key := 'walbench-' || %(n)s, "
                    "p_attending_location := 'mississauga')", {"n": i})
                xids.append(conn.execute("SELECT txid_current()").fetchone()[0])
        # the commits were flushed (synchronous_commit on): everything before is readable
        lsn1 = conn.execute("SELECT pg_current_wal_flush_lsn()").fetchone()[0]
        # create_booking's EXCEPTION blocks are subtransactions with xids of their own: the
        # commit records list them ("subxacts: ...")
        row = conn.execute(
            "WITH w AS (SELECT * FROM pg_get_wal_records_info(%s, %s)), "
            "mine AS (SELECT unnest(%s::bigint[]) AS x UNION "
            "  SELECT s::bigint FROM w, regexp_split_to_table(substring(w.description FROM "
            "  'subxacts: ([0-9 ]+)'), ' ') AS s "
            "  WHERE w.resource_manager = 'Transaction' AND w.xid::text::bigint = ANY (%s) "
            "    AND s <> '') "
            "SELECT count(*), sum(record_length - fpi_length), count(*) FILTER (WHERE "
            "fpi_length > 0), sum(fpi_length) FROM w "
            "WHERE w.xid::text::bigint IN (SELECT x FROM mine)",
            (lsn0, lsn1, xids, xids)).fetchone()
    return {"records": row[0] / n, "bytes": float(row[1]) / n, "fpi": row[2] / n,
            "fpi_bytes": float(row[3]) / n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--leg", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--designs", default="none,two,one,rows",
                    help="comma-separated, run in ABBA order: " + ", ".join(DESIGNS))
    ap.add_argument("--base", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--db", default="mockbook_bench_triggers",
                    help="the database it builds and drops")
    ap.add_argument("--sql", action="append", default=[], metavar="NAME=FILE",
                    help="one more design: FILE defines the trigger function"
                         " hubspot_sync.bench_NAME() (bench/trigger_designs/, as trigger_micro.py)")
    ap.add_argument("--wal", type=int, default=0,
                    help="instead of tps: WAL per booking over this many bookings per design")
    args = ap.parse_args()
    db = args.db
    url = args.base.rsplit("/", 1)[0] + "/" + db
    with psycopg.connect(args.base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db}")
        conn.execute(f"CREATE DATABASE {db}")
    try:
        fixtures.build(url, "db")
        fixtures.load(url)
        install(url, [tuple(x.split("=", 1)) for x in args.sql])
        if args.wal:
            wal: dict[str, list[dict[str, float]]] = {d: [] for d in args.designs.split(",")}
            order = []
            for _ in range(args.rounds):
                order += list(wal) + list(wal)[::-1]
            for k, design in enumerate(order):
                wal[design].append(wal_per_booking(url, design, args.wal,
                                                   10_000_000 + k * args.wal))
            for design, ws in wal.items():
                m = {k: statistics.mean(w[k] for w in ws) for k in ws[0]}
                print(f"{design:8s} WAL per booking: {m['records']:.1f} records, "
                      f"{m['bytes']:.0f} bytes without full-page images; "
                      f"{m['fpi']:.2f} records with full-page images ({m['fpi_bytes']:.0f} bytes)",
                      flush=True)
            return
        binary = pgbench.find_pgbench()
        chosen = args.designs.split(",")
        tps: dict[str, list[float]] = {d: [] for d in chosen}
        order = []
        for _ in range(args.rounds):
            order += chosen + chosen[::-1]
        for design in order:
            use(url, design)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CHECKPOINT")
            r = pgbench.run(binary, url, clients=args.clients, seconds=args.leg,
                            script=fixtures.SPREAD_SCRIPT)
            if not r.ok:
                sys.exit(r.describe())
            tps[design].append(r.tps)
            print(f"{design:5s} {r.tps:8.1f} tps  {r.latency_ms} ms", flush=True)
        mean = {k: statistics.mean(v) for k, v in tps.items()}
        print(f"clients {args.clients}, {args.rounds} x ABBA, {args.leg} s legs: "
              + ", ".join(f"{k} {v:.1f}" for k, v in mean.items())
              + ("; vs none: " + ", ".join(f"{k} {mean[k] / mean['none']:.3f}"
                                           for k in chosen if k != "none")
                 if "none" in mean else ""))
    finally:
        with psycopg.connect(args.base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
