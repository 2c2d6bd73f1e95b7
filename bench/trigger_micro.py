"""the CPU the audit/outbox trigger costs per row change, per design,
measured on the server so that a loaded machine does not enter (bench/README.md, "the trigger's
CPU per change").

    .venv/bin/python bench/trigger_micro.py [--rows 200] [--rounds 20] [--designs none,one,...]
        [--sql NAME=bench/trigger_designs/NAME.sql ...]

A sample is one statement changing --rows rows of one kind, in a transaction rolled back
afterwards (every sample starts from the same rows), with the bench's JWT claims set:
"contact" = UPDATE of one credit column of --rows contacts (what a booking does to its
contact), "exam" = UPDATE of total_bookings of --rows exams, "insert" = INSERT of --rows copies
of bookings made by create_booking. Two figures per sample, in µs per row change:
- the backend's CPU time for the statement, read from /proc/<backend pid>/schedstat (time on a
  CPU, in ns: a process waiting for a core is not charged, so other load hardly enters; the
  server must run on this machine), minus the same kind's sample of design "none" (no
  trigger) in the same round: the trigger's CPU;
- EXPLAIN (ANALYZE)'s time of the trigger (wall clock: inflated by load, shown for reference).
Designs run in ABBA order every round (reversed every other round), every kind each time; the
figures are medians over the samples, and the ratio to "jsonb" is paired per sample.

Designs: "none" (no trigger), "one" (db/triggers/row_change.sql's function), "jsonb" (the
function before it compared columns directly, the UPDATE diff walked in jsonb:
bench/trigger_designs/jsonb.sql), "hstore" (jsonb with the UPDATE's changed keys found by
hstore(NEW) - hstore(OLD); creates the hstore extension in the bench database), and any
--sql NAME=FILE defining the trigger function hubspot_sync.bench_NAME():
bench/trigger_designs/ (cols, nodiff, nojsonb). Builds and drops its own database (--db).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import fixtures
from bench.trigger_ab import jsonb_diff_sql

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("hubspot_contact_credits", "hubspot_mock_exams", "hubspot_bookings")
# the JWT claims of the bench's PostgREST-style transaction (performed_by is computed from them)
CLAIMS = (fixtures.POSTGREST_PREAMBLE.split("set_config('request.jwt.claims', ")[1]
          .split(", true)")[0].strip("'").replace("''", "'"))


def renamed(sql: str, fn: str) -> str:
    """row_change.sql's function (no trigger, comment, grants) under another name."""
    sql = sql.split("\nCOMMENT ON FUNCTION")[0]
    return sql.replace("mockbook_internal.record_row_change()", f"hubspot_sync.{fn}()")


def hstore_sql(base: str) -> str:
    fn = renamed(base, "bench_hstore")
    old = "FROM jsonb_each(v_new) AS n\n            WHERE n.key <> ALL (v_bookkeeping)\n" \
          "              AND n.value IS DISTINCT FROM v_old -> n.key"
    assert old in fn, "row_change.sql changed: update hstore_sql()"
    new = ("FROM unnest(public.akeys(public.hstore(NEW) OPERATOR(public.-) public.hstore(OLD)))"
           " AS k(key)\n            CROSS JOIN LATERAL (SELECT v_new -> k.key AS value) AS n\n"
           "            WHERE k.key <> ALL (v_bookkeeping)\n"
           "              AND n.value IS DISTINCT FROM v_old -> k.key")
    fn = fn.replace(old, new)
    for a in ("jsonb_agg(n.key ORDER BY n.key)", "jsonb_object_agg(n.key, v_old -> n.key)"):
        fn = fn.replace(a, a.replace("n.key", "k.key"))
    fn = fn.replace("jsonb_object_agg(n.key, n.value)", "jsonb_object_agg(k.key, n.value)")
    return fn


def triggers(fn: str) -> str:
    return "".join(f"""
CREATE TRIGGER {fn} AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.{t}
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.{fn}();""" for t in TABLES)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--designs", default="none,jsonb,one")
    ap.add_argument("--sql", action="append", default=[],
                    help="NAME=FILE: a design from a file defining hubspot_sync.bench_NAME()")
    ap.add_argument("--base", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--db", default="mockbook_bench_trigger_micro")
    ap.add_argument("--keep", action="store_true", help="do not drop the database")
    args = ap.parse_args()
    url = args.base.rsplit("/", 1)[0] + "/" + args.db
    with psycopg.connect(args.base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {args.db}")
    base = jsonb_diff_sql()
    files = dict(x.split("=", 1) for x in args.sql)
    chosen = args.designs.split(",")
    trig = {d: f"bench_{d}" for d in ["one", "jsonb", *files,
                                       *(["hstore"] if "hstore" in chosen else [])]}
    try:
        fixtures.build(url, "db")
        n = args.rows
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(renamed((ROOT / "db/triggers/row_change.sql").read_text(), "bench_one")
                         + ";" + triggers("bench_one"))
            conn.execute(renamed(base, "bench_jsonb") + ";" + triggers("bench_jsonb"))
            if "hstore" in chosen:
                conn.execute("CREATE EXTENSION IF NOT EXISTS hstore SCHEMA public")
                conn.execute(hstore_sql(base) + ";" + triggers("bench_hstore"))
            for name, path in files.items():
                conn.execute(Path(path).read_text() + ";" + triggers(f"bench_{name}"))
            for t in TABLES:
                conn.execute(f"ALTER TABLE hubspot_sync.{t} DISABLE TRIGGER record_row_change")
            # n students and n exams as the bench's fixture has them, and n bookings made by
            # create_booking (copied into a template table, then removed)
            conn.execute(
                "INSERT INTO hubspot_sync.hubspot_contact_credits (hubspot_id, student_id, email,"
                " firstname, lastname, sj_credits) SELECT 'MC' || i, 'M' || i,"
                " 'm' || i || '@example.com', 'F' || i, 'L' || i, 1000"
                " FROM generate_series(0, %s - 1) i", (n,))
            conn.execute(
                "INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_exam_name,"
                " mock_type, exam_date, start_time, end_time, location, capacity, is_active)"
                " SELECT 'MX' || i, 'SJ ' || i, 'Situational Judgment',"
                " current_date + 1 + i, '09:00', '12:00', 'Mississauga', 100000000, 'true'"
                " FROM generate_series(0, %s - 1) i", (n,))
            with conn.transaction():
                conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (CLAIMS,))
                for i in range(n):
                    conn.execute(
                        "SELECT hubspot_sync.create_booking(p_student_id := %s, p_email := %s,"
                        " p_mock_exam_id := %s, p_idempotency_key := %s,"
                        " p_attending_location := 'mississauga')",
                        (f"M{i}", f"m{i}@example.com", f"MX{i}", f"micro-{i}"))
            conn.execute("CREATE TABLE bench_tpl AS SELECT * FROM hubspot_sync.hubspot_bookings")
            conn.execute("ALTER TABLE hubspot_sync.hubspot_bookings DISABLE TRIGGER USER")
            conn.execute("DELETE FROM hubspot_sync.hubspot_bookings")
            conn.execute("ALTER TABLE hubspot_sync.hubspot_bookings ENABLE TRIGGER USER")
            conn.execute("VACUUM ANALYZE")
        kinds = {
            "contact": "UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = sj_credits - 1"
                       " WHERE hubspot_id LIKE 'MC%'",
            "exam": "UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = total_bookings + 1"
                    " WHERE hubspot_id LIKE 'MX%'",
        }
        kinds["insert"] = (
            "INSERT INTO hubspot_sync.hubspot_bookings SELECT gen_random_uuid(), r.hubspot_id,"
            " 'Z' || r.booking_id" + "".join(f", r.{c}" for c in (
                "associated_mock_exam", "associated_contact_id", "student_id", "name",
                "student_email", "is_active", "attendance", "dominant_hand",
                "attending_location", "token_used", "token_refunded", "token_refunded_at",
                "token_refund_admin", "start_time", "end_time", "exam_date", "mock_type",
                "mock_set", "ndecc_exam_date", "idempotency_key", "created_at", "updated_at",
                "synced_at", "hubspot_last_sync_at", "idempotency_fingerprint",
                "legacy_booking_id")) + " FROM bench_tpl r")
        # per design, kind and round: the backend's CPU time for the statement (schedstat)
        # and the trigger's own time as EXPLAIN ANALYZE reports it, both in µs per row
        cpu: dict[str, dict[str, list[float]]] = {d: {k: [] for k in kinds} for d in chosen}
        wall: dict[str, dict[str, list[float]]] = {d: {k: [] for k in kinds} for d in chosen}
        with psycopg.connect(url) as conn:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            conn.commit()
            stat = Path(f"/proc/{pid}/schedstat")  # the server must run on this machine
            for r in range(args.rounds):
                order = chosen + chosen[::-1] if r % 2 == 0 else chosen[::-1] + chosen
                for design in order:
                    for t in TABLES:
                        for d2, name in trig.items():
                            on = "ENABLE" if d2 == design else "DISABLE"
                            conn.execute(f"ALTER TABLE hubspot_sync.{t} {on} TRIGGER {name}")
                    conn.commit()
                    for kind, sql in kinds.items():
                        conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                                     (CLAIMS,))
                        ns0 = int(stat.read_text().split()[0])
                        plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql).fetchone()[0]
                        ns1 = int(stat.read_text().split()[0])
                        conn.rollback()
                        cpu[design][kind].append((ns1 - ns0) / 1000 / n)
                        if design != "none":
                            tr = [t for t in plan[0]["Triggers"]
                                  if t["Trigger Name"] == trig[design]]
                            assert tr and tr[0]["Calls"] == n, (design, kind, plan[0]["Triggers"])
                            wall[design][kind].append(1000 * tr[0]["Time"] / n)
                        else:
                            wall[design][kind].append(0.0)
        rounds = 2 * args.rounds

        def per_round(design: str, kind: str) -> list[float]:
            # samples come in pairs per round (ABBA): the design's CPU minus "none"'s, paired
            return [cpu[design][kind][i] - cpu["none"][kind][i] for i in range(rounds)]

        print(f"{n} rows per statement, {args.rounds} ABBA rounds ({rounds} samples per design"
              " and kind); µs per row change, medians")
        print("design   trigger time (EXPLAIN)         |  statement CPU − none (schedstat)")
        for design in chosen:
            line = f"{design:8s} " + " ".join(
                f"{k} {statistics.median(wall[design][k]):6.1f}" for k in kinds)
            if "none" in chosen:
                line += "  | " + " ".join(
                    f"{k} {statistics.median(per_round(design, k)):6.1f}" for k in kinds)
                total = sum(statistics.median(per_round(design, k)) for k in kinds)
                line += f"  booking {total:6.1f}"
            print(line)
        if "none" in chosen:
            # interference only ever adds CPU time (cache misses, a sibling hyperthread), so
            # each design's least sample is the other estimate of its intrinsic cost
            print("design   least statement CPU − none's least (µs per row change)")
            for design in chosen:
                least = {k: min(cpu[design][k]) - min(cpu["none"][k]) for k in kinds}
                print(f"{design:8s} " + " ".join(f"{k} {v:6.1f}" for k, v in least.items())
                      + f"  booking {sum(least.values()):6.1f}")
        if "jsonb" in chosen and "none" in chosen:
            for design in chosen:
                ratios = [sum(per_round(design, k)[i] for k in kinds)
                          / sum(per_round("jsonb", k)[i] for k in kinds) for i in range(rounds)]
                q = statistics.quantiles(ratios, n=4)
                print(f"{design:8s} CPU/booking ÷ jsonb's, paired per sample: median "
                      f"{statistics.median(ratios):.3f} (quartiles {q[0]:.3f}–{q[2]:.3f})")
        res = {"cpu": cpu, "trigger_time": wall}
        print(json.dumps(res), file=sys.stderr)
    finally:
        if not args.keep:
            with psycopg.connect(args.base, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")


if __name__ == "__main__":
    main()
