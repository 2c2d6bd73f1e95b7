"""Two revisions of db/ compared ABBA on one fixture: create_booking's bookings a second.

    bench/abba.py [--base REV] [--subject REV] [--clients 8,32] [--rounds 4] [--leg 10] [--keep]
                  [--quiet-wait 300]

How a change to db/ shows its cost before it lands (bench/README.md, "Running them"):

- **The revisions.** Each side's db/ is `git archive <rev> db` unpacked into a temporary folder;
  `--subject` left out is the working tree's db/, uncommitted changes included; `--base` left out
  is the commit that cut the last release (the one that dated it in db/migrations/releases.json).
- **One fixture.** B1's (bench/fixtures.py: 50,000 students, 1,009 exams). When both revisions
  have the same db/schema/, it is built once, from the base's db/, and each side is a copy of it
  (`CREATE DATABASE ... TEMPLATE`: the same rows, byte for byte); the subject's copy then gets
  the subject's functions, triggers and views as its revision would install them (a function
  whose arguments changed, or that the subject no longer has, dropped first). When db/schema/
  differs, each side is built from its own db/ and loaded with the same fixture (the same rows
  but their generated uuids). Either way a digest of the fixture's rows must be equal on both
  sides.
- **The legs.** Per client count, `--rounds` rounds of base, subject, subject, base: pgbench
  -M prepared with B1's spread booking transaction as PostgREST makes it
  (fixtures.SPREAD_SCRIPT), `--leg` seconds each, after one short warm-up leg per side and a
  CHECKPOINT; every transaction of a leg must have booked. The figure is the subject's mean
  bookings a second ÷ the base's, with each round's own ratio (their spread is the noise).
- **A quiet start.** The run first waits, at most `--quiet-wait` seconds, for the one-minute
  load average to fall to half the cores: a run begun while another job still loads the box
  measures that job too. The JSON records `quiet_at_start` and the wait.
- **CPU a booking.** Where the server runs on this machine, each leg also reads its pgbench
  backends' time on a core (/proc/<pid>/schedstat) from when all clients are connected to 85 %
  of the leg, ÷ the bookings begun meanwhile; `cpu_ratio` is base ÷ subject (above 1: the subject
  takes less). Steadier than bookings a second, and it counts what an instruction count misses
  (cache misses, what backends contend for).

Writes bench/results/<UTC timestamp>-abba.json (commit it only when a page cites it) and prints
the ratios. Server: as bench/run.py (DATABASE_URL, the PG* variables, 127.0.0.1:5432); its
databases are named mockbook_abba_<pid>_* and dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import fixtures  # noqa: E402
import pgbench  # noqa: E402
import psycopg  # noqa: E402
import workloads  # noqa: E402
from common import admin_url, log, recreate_database, server_info, url_for  # noqa: E402

from glue.db import revision  # noqa: E402
from glue.db.source import APPLY_PREAMBLE, REPLACEABLE_FOLDERS, apply_source, source_files  # noqa: E402

ROOT = HERE.parent
RESULTS = HERE / "results"
WORKTREE = "worktree"
WARM_UP_SECONDS = 2
# the fixture's rows, in a fixed order, without what each database generates (ids, times)
FIXTURE_DIGEST = """
SELECT md5(string_agg(row, E'\\n' ORDER BY row)) FROM (
    SELECT concat_ws('|', 'c', student_id, email, firstname, lastname, sj_credits, cs_credits,
                     shared_mock_credits) AS row
    FROM hubspot_sync.hubspot_contact_credits
    UNION ALL
    SELECT concat_ws('|', 'e', hubspot_id, mock_type, exam_date, start_time, end_time, location,
                     capacity, total_bookings, is_active, exam_starts_at, exam_ends_at)
    FROM hubspot_sync.hubspot_mock_exams) AS r
"""


def git(*args: str, binary: bool = False) -> Any:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True, timeout=120)
    return done.stdout if binary else done.stdout.decode().strip()


def last_release_commit() -> str:
    """The commit that dated the newest cut release in db/migrations/releases.json."""
    path = "db/migrations/releases.json"
    cut = [r for r in json.loads((ROOT / path).read_text())["releases"] if r["date"]]
    if not cut:
        raise SystemExit("no release is cut yet: name the base with --base")
    wanted = (cut[-1]["revision"], cut[-1]["date"])
    for commit in git("log", "--reverse", "--format=%H", "--", path).split():
        releases = json.loads(git("show", f"{commit}:{path}"))["releases"]
        if any((r["revision"], r["date"]) == wanted for r in releases):
            return commit
    raise SystemExit(f"no commit dates release {wanted[0]}: name the base with --base")


def side(rev: str | None, into: Path) -> dict[str, Any]:
    """A revision's db/ on disk: {rev, commit, db_dir} (rev None: the working tree's)."""
    if rev in (None, WORKTREE):
        dirty = bool(git("status", "--porcelain", "--", "db"))
        return {"rev": WORKTREE, "commit": git("rev-parse", "HEAD"), "uncommitted": dirty,
                "db_dir": revision.DB_DIR}
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    archive = git("archive", "--format=tar", commit, "db", binary=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return {"rev": rev, "commit": commit, "db_dir": into / "db"}


def texts(db_dir: Path, folders: tuple[str, ...]) -> dict[str, str]:
    return {revision.relpath(p, db_dir): p.read_text() for p in source_files(db_dir)
            if revision.relpath(p, db_dir).split("/", 1)[0] in folders}


def replacement_sql(old_dir: Path, new_dir: Path) -> str:
    """What takes a database built from old_dir to new_dir's functions, triggers and views, as
    a revision does it: drops for what changed its arguments or is gone, then the new files."""
    old = "".join(texts(old_dir, REPLACEABLE_FOLDERS).values())
    new = "".join(texts(new_dir, REPLACEABLE_FOLDERS).values())
    return (APPLY_PREAMBLE + revision._signature_drops(old, new)
            + revision._removed_drops(old, new) + new)


def build(sides: dict[str, dict[str, Any]], names: dict[str, str]) -> str:
    """The two databases (names: base, subject, template) with one fixture; how it was made."""
    base_dir, subject_dir = sides["base"]["db_dir"], sides["subject"]["db_dir"]
    if texts(base_dir, ("schema",)) == texts(subject_dir, ("schema",)):
        template = recreate_database(names["template"])
        apply_source(template, base_dir)
        fixtures.load(template)
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            for name in (names["base"], names["subject"]):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{names["template"]}"')
            conn.execute(f'DROP DATABASE "{names["template"]}"')
        with psycopg.connect(url_for(names["subject"])) as conn:
            conn.execute(replacement_sql(base_dir, subject_dir))
        return "template: one fixture, copied; the subject's functions, triggers and views on it"
    for role in ("base", "subject"):
        url = recreate_database(names[role])
        apply_source(url, sides[role]["db_dir"])
        fixtures.load(url)
    return "built per side: db/schema/ differs; the same fixture loaded into each"


def digest(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(FIXTURE_DIGEST).fetchone()[0]


def backend_cpu(url: str) -> tuple[dict[int, int], int] | None:
    """The pgbench backends' CPU time so far (ns on a core, not waiting for one: the first field
    of /proc/<pid>/schedstat) and the bookings begun so far (the fixture's sequence), or None
    where the server's processes cannot be read (a server on another machine)."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'pgbench'")]
        begun = conn.execute("SELECT last_value FROM bench.n").fetchone()[0]
    cpu = {}
    for pid in pids:
        try:
            cpu[pid] = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
    return (cpu, begun) if cpu else None


def cpu_per_booking(first: tuple[dict[int, int], int] | None,
                    last: tuple[dict[int, int], int] | None) -> float | None:
    """Microseconds of backend CPU a booking between two readings of the same backends; None
    when either reading is missing, the backends differ or no booking was begun between."""
    if first is None or last is None:
        return None
    (before, begun_before), (after, begun_after) = first, last
    if before.keys() != after.keys() or begun_after <= begun_before:
        return None
    spent_ns = sum(after[pid] - before[pid] for pid in before)
    return round(spent_ns / 1000 / (begun_after - begun_before), 1)


def leg(binary: str, url: str, clients: int, seconds: int,
        cpu: list[float | None] | None = None) -> pgbench.PgbenchResult:
    """One pgbench leg of B1's spread booking; with `cpu`, the backends' CPU a booking from
    once all clients are connected to 85 % of the leg is appended to it."""
    def run() -> pgbench.PgbenchResult:
        return pgbench.run(binary, url, clients=clients, seconds=seconds,
                           script=fixtures.SPREAD_SCRIPT)

    if cpu is None:
        return run()
    done: dict[str, pgbench.PgbenchResult] = {}
    runner = threading.Thread(target=lambda: done.update(result=run()))
    started = time.monotonic()
    runner.start()
    first = None
    while time.monotonic() - started < seconds / 2 and runner.is_alive():
        first = backend_cpu(url)
        if first is not None and len(first[0]) == clients:
            break
        time.sleep(0.05)
    time.sleep(max(0.0, started + seconds * 0.85 - time.monotonic()))
    last = backend_cpu(url) if runner.is_alive() else None
    runner.join()
    cpu.append(cpu_per_booking(first, last))
    return done["result"]


def compare(binary: str, urls: dict[str, str], clients: int, rounds: int,
            seconds: int) -> dict[str, Any]:
    """`rounds` ABBA rounds at `clients` clients: the ratio, each round's, the legs."""
    before = {role: workloads._bookings(url) for role, url in urls.items()}
    workloads._checkpoint(urls["base"])
    cpu: dict[str, list[float | None]] = {"base": [], "subject": []}
    pair = workloads.abba(lambda: leg(binary, urls["base"], clients, seconds, cpu["base"]),
                          lambda: leg(binary, urls["subject"], clients, seconds, cpu["subject"]),
                          rounds)
    if pair.failed:
        bad = pair.failed[0]
        return {"clients": clients, "error": bad.describe(), "output_tail": bad.output[-2000:]}
    made = {role: workloads._bookings(url) - before[role] for role, url in urls.items()}
    counted = {"base": sum(r.transactions or 0 for r in pair.reference),
               "subject": sum(r.transactions or 0 for r in pair.subject)}
    result = summary(clients, pair, cpu)
    if made != counted:
        result["error"] = f"transactions {counted} but bookings {made}: some calls did not book"
    return result


def summary(clients: int, pair: workloads.Pair,
            cpu: dict[str, list[float | None]] | None = None) -> dict[str, Any]:
    """One client count's figures from its ABBA legs (reference = base): bookings a second and,
    where the server's processes could be read, backend CPU a booking (base ÷ subject: above 1,
    the subject takes less)."""
    cpu = cpu or {"base": [], "subject": []}
    means = {role: round(sum(v) / len(v), 1) if (v := [x for x in legs if x is not None])
             else None for role, legs in cpu.items()}
    return {"clients": clients, "base_tps": round(pair.reference_tps, 1),
            "subject_tps": round(pair.subject_tps, 1),
            "ratio": round(pair.subject_tps / pair.reference_tps, 3),
            "round_ratios": pair.round_ratios(),
            "base_legs_tps": [r.tps for r in pair.reference],
            "subject_legs_tps": [r.tps for r in pair.subject],
            "base_cpu_us_per_booking": means["base"],
            "subject_cpu_us_per_booking": means["subject"],
            "cpu_ratio": (round(means["base"] / means["subject"], 3)
                          if means["base"] and means["subject"] else None),
            "base_legs_cpu_us": cpu["base"], "subject_legs_cpu_us": cpu["subject"]}


def invariants(url: str) -> list[str]:
    """The data model's violations after the legs (B1's check); a revision whose check has
    another signature says so instead."""
    try:
        return fixtures.invariant_violations(url)
    except psycopg.Error as exc:
        return [f"not checked: {type(exc).__name__}: {str(exc).splitlines()[0]}"]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def wait_for_quiet(limit_s: float, cores: int, read: Any = os.getloadavg,
                   sleep: Any = time.sleep, step_s: float = 5.0) -> tuple[bool, float]:
    """Wait at most `limit_s` seconds for the one-minute load average to fall to half the cores
    (a run begun while another job still loads the box measures that job too); (quiet, seconds
    waited)."""
    waited = 0.0
    while read()[0] > cores / 2:
        if waited >= limit_s:
            return False, waited
        sleep(step_s)
        waited += step_s
    return True, waited


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="git revision of the reference (default: the commit "
                                       "that cut the last release)")
    parser.add_argument("--subject", default=WORKTREE,
                        help="git revision measured against it (default: the working tree)")
    parser.add_argument("--clients", default="8,32", help="client counts (default 8,32)")
    parser.add_argument("--rounds", type=int, default=4, help="ABBA rounds (default 4)")
    parser.add_argument("--leg", type=int, default=10, help="seconds of one leg (default 10)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="folder of the JSON (default bench/results)")
    parser.add_argument("--keep", action="store_true", help="keep the two databases")
    parser.add_argument("--quiet-wait", type=float, default=300, metavar="SECONDS",
                        help="wait at most this long for the load average to fall to half the "
                             "cores before starting (default 300; 0: start at once)")
    args = parser.parse_args(argv)
    args.clients = [int(n) for n in args.clients.split(",")]
    if not 1 <= args.rounds <= workloads.MAX_ROUNDS or args.leg < 1 or min(args.clients) < 1:
        parser.error(f"--rounds 1..{workloads.MAX_ROUNDS}, --leg and --clients at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, stamp = time.monotonic(), datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    server = server_info()
    binary = pgbench.find_pgbench(server["version_num"] // 10000)
    quiet, waited = wait_for_quiet(args.quiet_wait, os.cpu_count() or 1)
    if not quiet:
        log(f"the box is still busy after {waited:.0f} s (load average {load_average()}): "
            "this run's figures include that load")
    prefix = f"mockbook_abba_{os.getpid()}"
    names = {role: f"{prefix}_{role}" for role in ("base", "subject", "template")}
    urls = {role: url_for(names[role]) for role in ("base", "subject")}
    run: dict[str, Any] = {"stamp": stamp, "what": "create_booking, subject ÷ base, ABBA",
                           "leg_seconds": args.leg, "rounds": args.rounds,
                           "script": "fixtures.SPREAD_SCRIPT (B1's spread booking)",
                           "server": server, "cores": os.cpu_count(),
                           "load_average_before": load_average(), "quiet_at_start": quiet,
                           "waited_for_quiet_s": waited}
    with tempfile.TemporaryDirectory(prefix="mockbook-abba-") as tmp:
        sides = {"base": side(args.base or last_release_commit(), Path(tmp) / "base"),
                 "subject": side(args.subject, Path(tmp) / "subject")}
        run.update({role: {k: v for k, v in s.items() if k != "db_dir"}
                    for role, s in sides.items()})
        log(f"base {sides['base']['rev']} ({sides['base']['commit'][:12]}), subject "
            f"{sides['subject']['rev']}; {args.rounds} ABBA rounds of {args.leg} s legs at "
            f"{args.clients} clients")
        try:
            run["fixture"] = build(sides, names)
            digests = {role: digest(url) for role, url in urls.items()}
            if digests["base"] != digests["subject"]:
                raise SystemExit(f"the two fixtures differ: {digests}")
            run["fixture_digest"] = digests["base"]
            for url in urls.values():
                leg(binary, url, min(args.clients), WARM_UP_SECONDS)
            run["figures"] = [compare(binary, urls, n, args.rounds, args.leg)
                              for n in args.clients]
            run["invariants"] = {role: invariants(url) for role, url in urls.items()}
        finally:
            if not args.keep:
                with psycopg.connect(admin_url(), autocommit=True) as conn:
                    for name in names.values():
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run["load_average_after"] = load_average()
    run["duration_s"] = round(time.monotonic() - started, 1)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{stamp}-abba.json"
    path.write_text(json.dumps(run, indent=2) + "\n")
    log(f"{run['fixture']}; load average {run['load_average_before']} -> "
        f"{run['load_average_after']}")
    for fig in run["figures"]:
        if "error" in fig:
            log(f"  {fig['clients']:>3} clients: ERROR {fig['error']}")
            continue
        log(f"  {fig['clients']:>3} clients: subject ÷ base = {fig['ratio']} (rounds "
            f"{', '.join(map(str, fig['round_ratios']))}; base {fig['base_tps']:,} tps, "
            f"subject {fig['subject_tps']:,} tps; backend CPU a booking base "
            f"{fig['base_cpu_us_per_booking']} µs, subject {fig['subject_cpu_us_per_booking']} µs, "
            f"base ÷ subject {fig['cpu_ratio']})")
    log(f"wrote {path}")
    broken = [f for f in run["figures"] if "error" in f] or [
        v for found in run["invariants"].values() for v in found if not v.startswith("not ")]
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
