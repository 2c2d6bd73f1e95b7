"""An A/B of the booking path: the functions as of revision 0036 ("old": restored from
the downgrade files of 0037, 0039 and 0041) against db/functions ("new"), swapped between
pgbench legs on one database, ABBA, 32 clients, B1's spread script, 8 s legs.

    .venv/bin/python bench/booking_ab.py [ROUNDS]      # default 2 (8 legs)
"""

import statistics
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import fixtures, pgbench

ROOT = Path(__file__).resolve().parent.parent
V = ROOT / "db/migrations/versions"
F = ROOT / "db/functions"
old = [
    V / "0037_review_round_of_stop_26_wai/downgrade/10_functions_booking_rule.sql",
    V / "0037_review_round_of_stop_26_wai/downgrade/07_functions_check_booking_rules.sql",
    V / "0039_waitlist_day_places_analyti/downgrade/10_functions_check_exam_for_student.sql",
    V / "0037_review_round_of_stop_26_wai/downgrade/11_functions_book.sql",
    *sorted((V / "0041_a_deadlock_with_an_outside/downgrade").glob("0[1-7]_*.sql")),
]
new = [
    F / f"{n}.sql"
    for n in (
        "booking_rule",
        "check_booking_rules",
        "check_exam_for_student",
        "book",
        "take_seat",
        "release_seat",
        "lock_waitlist_entry",
        "lock_idempotency_key",
        "lock_exam",
        "lock_contact",
        "lock_booking",
    )
]


def main() -> None:
    SQL = {
        "old": "\n".join(p.read_text() for p in old),
        "new": "\n".join(p.read_text() for p in new),
    }
    base = "postgresql://postgres@127.0.0.1:5432/postgres"
    db = "mockbook_ab"
    url = base.rsplit("/", 1)[0] + "/" + db
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {db}")
        c.execute(f"CREATE DATABASE {db}")
    fixtures.build(url, "db")
    fixtures.load(url)
    binary = pgbench.find_pgbench()
    tps = {"old": [], "new": []}
    order = ["old", "new", "new", "old"] * int(sys.argv[1] if len(sys.argv) > 1 else 2)
    for d in order:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(SQL[d])
            c.execute("CHECKPOINT")
        r = pgbench.run(binary, url, clients=32, seconds=8, script=fixtures.SPREAD_SCRIPT)
        tps[d].append(r.tps)
        print(d, round(r.tps, 1), flush=True)
    for d, v in tps.items():
        print(d, "mean", round(statistics.mean(v), 1), "median", round(statistics.median(v), 1))
    print("new/old (means)", round(statistics.mean(tps["new"]) / statistics.mean(tps["old"]), 3))
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {db}")


if __name__ == "__main__":
    main()
