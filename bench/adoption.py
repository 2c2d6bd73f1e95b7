"""B10: adopting a production database, at 100k and 400k bookings: how long the one-transaction
upgrade (0001_baseline -> head) runs, and so how long the old apps' writers must be stopped.

For each size a database of its own (ADOPT_DB) gets the production schema dump
(tests/fixtures/production/, loaded as tests/py/db/test_adopt_production.py loads it, with
Supabase's default grants) and production-shaped data written the way the original app writes
it (test_adopt_production.populate_sql: lower- and upper-case statuses, rebooked codes, null
codes, drifted counters; one student in ten per exam), then `VACUUM ANALYZE`. Measured:

- value: `alembic stamp 0001_baseline` + `alembic upgrade head` (glue.db.migrations, the same
  calls `mockbook migrate` makes), wall seconds. The upgrade is one transaction that takes its
  tables' locks up front (db/migrations/env.py), so this is also how long the booking tables are
  closed to writers;
- reference, in the same run on the same data: one rewrite of the bookings table
  (`CREATE TABLE ... AS SELECT * FROM hubspot_bookings`, rolled back), the cheapest thing an
  upgrade that touches every booking row could do; ratio = upgrade / rewrite.

No target: the figure is for planning the maintenance window (README, "Adopting an existing
database"). Standalone: `bench/adoption.py [--sizes 100000,400000]` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
# the production dump's loader and the original app's data generator are the adoption tests'
# (tests/py/db/test_adopt_production.py), which import helpers of tests/py
sys.path.insert(2, str(HERE.parent / "tests" / "py"))
sys.path.insert(3, str(HERE.parent / "tests" / "py" / "db"))

from common import Figure, admin_url, log, recreate_database  # noqa: E402

ADOPT_DB = "mockbook_bench_adopt"
TITLE = "adoption: one-transaction upgrade of the production schema"
SIZES = (100_000, 400_000)
PER_EXAM = 95  # students per exam; bookings ~ exams * PER_EXAM * 19/18


def shape(bookings: int) -> tuple[int, int, int]:
    """(contacts, exams, per_exam) for about `bookings` bookings."""
    exams = max(4, round(bookings / (PER_EXAM * 19 / 18)))
    return max(1000, bookings // 10), exams, PER_EXAM


def production_helpers() -> tuple[str, Any, Any]:
    """(BASELINE, load_dump, populate_sql) of the adoption tests: what B10 loads and fills."""
    from test_adopt_production import BASELINE, load_dump, populate_sql

    return BASELINE, load_dump, populate_sql


def measure(bookings: int) -> dict[str, Any]:
    from glue.db import migrations

    BASELINE, load_dump, populate_sql = production_helpers()

    url = recreate_database(ADOPT_DB)
    contacts, exams, per_exam = shape(bookings)
    started = time.perf_counter()
    load_dump(url)
    with psycopg.connect(url) as conn:
        conn.execute(populate_sql(contacts, exams, per_exam))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        rows = conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings").fetchone()[0]
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size("
                            "'hubspot_sync.hubspot_bookings'))").fetchone()[0]
    load_s = time.perf_counter() - started
    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        conn.execute("CREATE TABLE hubspot_sync.bench_rewrite AS"
                     " SELECT * FROM hubspot_sync.hubspot_bookings")
        rewrite_s = time.perf_counter() - start
        conn.rollback()
    start = time.perf_counter()
    migrations.stamp(url, BASELINE)
    migrations.upgrade(url, "head")
    upgrade_s = time.perf_counter() - start
    with psycopg.connect(url, autocommit=True) as conn:
        after = conn.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings").fetchone()[0]
        report = conn.execute("SELECT count(*) FROM hubspot_sync.adoption_report").fetchone()[0]
    assert after == rows, f"{rows} bookings before the upgrade, {after} after"
    return {"bookings": rows, "contacts": contacts, "exams": exams, "bookings_size": size,
            "load_s": round(load_s, 1), "rewrite_s": round(rewrite_s, 3),
            "upgrade_s": round(upgrade_s, 2), "adoption_report_rows": report}


def b10(quick: bool, sizes: tuple[int, ...] = SIZES) -> list[Figure]:
    figures = []
    try:
        for bookings in sizes[:1] if quick else sizes:
            log(f"B10: production dump + {bookings} bookings, then the upgrade")
            m = measure(bookings)
            log(f"B10@{bookings}: upgrade {m['upgrade_s']} s, rewrite {m['rewrite_s']} s")
            figures.append(Figure(
                id=f"B10@{bookings // 1000}k", bench="B10", title=TITLE, value=m["upgrade_s"],
                unit="s", reference=m["rewrite_s"], reference_unit="s",
                reference_name="one rewrite of hubspot_bookings (CREATE TABLE AS)",
                ratio=round(m["upgrade_s"] / m["rewrite_s"], 1) if m["rewrite_s"] else None,
                ratio_meaning="upgrade s / rewrite s", target=None,
                how=(f"production dump + {m['bookings']} bookings, {m['contacts']} contacts, "
                     f"{m['exams']} exams written as the original app writes them "
                     "(test_adopt_production.populate_sql), VACUUM ANALYZE; then `alembic "
                     "stamp 0001_baseline` + `alembic upgrade head` (one transaction, its "
                     "locks taken up front: the writers' downtime)"),
                details=m))
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{ADOPT_DB}" WITH (FORCE)')
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="bookings per run, comma-separated")
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    for figure in b10(quick=False, sizes=sizes):
        print(json.dumps(figure.as_dict(), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
