"""B11: the first import (`mockbook import`) of a portal of 20,000 contacts, 200 exams and 40,000
bookings (each associated with its exam and its contact), against HubSpot's rate limits.

- **B11c**: the fewest calls HubSpot's documented page sizes allow ÷ the calls the import made
  (target ≥ 0.9). The fewest: one search page per 200 records of each kind (CRM search's
  largest page), one associations v4 batch read per 1,000 bookings for their exams and one for
  their contacts, one for the exams' prerequisites, one list page of archived exams. The calls
  made are every request the sandbox logged during the import, the start-up checks included.
- **B11t**: the shortest time HubSpot's limits allow for those fewest calls ÷ the import's wall
  time (target ≥ 0.9). The shortest time: the searches at HUBSPOT_SEARCH_RATE (4 a second,
  HubSpot's search limit) or all the calls at 100 per 10 s (the Free/Starter tier), whichever
  is longer; the sandbox enforces both. The wall time: from starting the process to its exit.
- **B11k**: imports killed halfway (SIGKILL, then one with SIGTERM) once half the fewest calls
  were made, then run again to the end. The figure: the reads (all calls but a new process's
  start-up checks) of both runs - those of the uninterrupted import, the worst of the two
  (target: IMPORT_BOUND, what a killed run holds fetched and not applied plus the finished
  passes caught up); each resumed database must equal the uninterrupted one (digests of the
  imported tables).
- **B11s**: the steady state. A portal whose 20,000 contacts all changed within the minute before
  the import (a bulk update in HubSpot: the worst case for the pull's overlap window, which then
  holds every contact), imported, then `mockbook run --json` ten times in a row on the unchanged
  portal (subprocesses, one after the other, each started once the calls of the one before have
  left HubSpot's 10 s window, as cron's runs minutes apart do). The figure: the longest run
  (target ≤ 10 s), with each run's seconds, calls and the records its pull read (details); the
  reference: one more run with the cursors' edge taken away (glue/sync/pull_edge.py), which
  reads the whole window again, as every run did before the pull remembered its edge.

`mockbook import --json` runs as a subprocess on databases of its own (copies of one built from
the schema) against an in-process Sandbox(conformance=False, rate_limit=100, rate_window=10,
search_rate=4) seeded directly (no API call): records created a few minutes apart over the past
months, so their last-modified dates differ as a real portal's do; then frozen out of the
collector's sweeps (``gc.freeze``: a sweep of the seeded portal pauses the sandbox's answers,
which HubSpot's do not). Standalone:
``bench/first_import.py [--quick] [--out FILE]`` prints the figures as JSON (``--quick``: a
tenth of the records); ``bench/run.py --only B11`` records them. ``--steady-only`` measures B11s
alone.
"""

from __future__ import annotations

import gc
import json
import math
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fixtures
import psycopg
from common import (
    Figure,
    admin_url,
    emit,
    log,
    not_measured,
    recreate_database,
    script_arguments,
    url_for,
)

EXAMS, CONTACTS, BOOKINGS = 200, 20_000, 40_000
SEARCH_PAGE = 200  # CRM search's largest page (glue.hubspot.reads.SEARCH_PAGE)
ASSOCIATION_READ = 1_000  # associations v4 batch read (glue.hubspot.client.MAX_ASSOCIATION_READ)
RATE, WINDOW, SEARCH_RATE = 100, 10.0, 4
TEMPLATE_DB = "mockbook_bench_import"
ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-import-token"
# What a digest compares: the imported tables without this database's own ids and the times of
# the run itself (an import at another moment writes other ones), and the rows naming a local
# id by the HubSpot id of the record instead.
RUN_COLUMNS = {"id", "updated_at", "synced_at", "hubspot_last_sync_at"}
DIGESTED: dict[str, tuple[str, set[str]] | str] = {
    "hubspot_sync.hubspot_mock_exams": ("hubspot_id", RUN_COLUMNS),
    "hubspot_sync.hubspot_contact_credits": ("hubspot_id", RUN_COLUMNS),
    "hubspot_sync.hubspot_bookings": ("hubspot_id", RUN_COLUMNS),
    "hubspot_sync.credit_ledger": ("student_id", {"id", "contact_id", "created_at"}),
    "hubspot_sync.contact_credit_sync":
        "SELECT c.hubspot_id, s.credits, s.pushing, s.source, s.hubspot_modified_at "
        "FROM hubspot_sync.contact_credit_sync AS s "
        "JOIN hubspot_sync.hubspot_contact_credits AS c ON c.id = s.contact_id",
    "hubspot_sync.exam_hubspot_sync":
        "SELECT e.hubspot_id, s.hubspot_modified_at FROM hubspot_sync.exam_hubspot_sync AS s "
        "JOIN hubspot_sync.hubspot_mock_exams AS e ON e.id = s.exam_id",
    "hubspot_sync.sync_metadata":
        "SELECT sync_type, last_sync_status, cursor - 'pass_started_at' "
        "FROM hubspot_sync.sync_metadata WHERE sync_type <> 'hubspot_portal'",
}


def seed(sb: Any, exams: int, contacts: int, bookings: int, *, burst: bool = False
         ) -> dict[str, int]:
    """The portal, created directly in the sandbox's store: one record per `seed` call so each
    has its own creation and last-modified time, a few minutes apart over the past months
    (``burst``: the contacts all within the last minute instead)."""
    from glue.sandbox import BOOKINGS as BOOKING_TYPE
    from glue.sandbox import CONTACTS as CONTACT_TYPE
    from glue.sandbox import EXAMS as EXAM_TYPE

    total = exams + contacts + bookings
    start = datetime.now(UTC) - timedelta(days=240)
    step = timedelta(days=230) / total
    times = [start + k * step for k in range(total)]
    if burst:  # the contacts' last change: the minute before now, a few ms apart
        recent = datetime.now(UTC) - timedelta(seconds=60)
        times[exams:exams + contacts] = [recent + timedelta(milliseconds=2 * k)
                                         for k in range(contacts)]
    at = iter(times)
    exam_ids = []
    for k in range(exams):
        day = datetime(2031, 1, 5, tzinfo=UTC) + timedelta(days=k)
        exam_ids += sb.seed(EXAM_TYPE, [{
            "mock_exam_name": f"Clinical Skills {k}", "mock_type": "Clinical Skills",
            "exam_date": day.date().isoformat(), "start_time": "09:00", "end_time": "12:00",
            "location": "mississauga", "capacity": str(2 * bookings // exams + 10),
            "is_active": "true", "mock_set": "A"}], at=next(at))
    students = [f"IM{k:06d}" for k in range(contacts)]
    contact_ids = []
    for k, s in enumerate(students):
        contact_ids += sb.seed(CONTACT_TYPE, [{
            "email": f"{s.lower()}@example.com", "student_id": s, "firstname": "First" + s,
            "lastname": "Last" + s, "sj_credits": str(k % 3), "cs_credits": str(k % 5),
            "sjmini_credits": "0", "mock_discussion_token": "0",
            "shared_mock_credits": str(k % 2)}], at=next(at))
    to_exam = sb.association_type_id(BOOKING_TYPE, EXAM_TYPE)
    to_contact = sb.association_type_id(BOOKING_TYPE, CONTACT_TYPE)
    for k in range(bookings):
        # each student's bookings on different days (one Active booking a day and type)
        c = k % contacts
        e = (k // contacts + c) % exams
        when = datetime(2031, 1, 5, tzinfo=UTC) + timedelta(days=e)
        code = f"BK-{when:%Y%m%d}-{k:06d}"
        [bid] = sb.seed(BOOKING_TYPE, [{
            "booking_id": code, "idempotency_key": f"key-{code}",
            "associated_mock_exam": exam_ids[e], "associated_contact_id": contact_ids[c],
            "student_id": students[c], "name": f"Student {students[c]}",
            "email": f"{students[c].lower()}@example.com",
            "is_active": ("Active", "Cancelled", "Completed")[k % 3],
            "token_used": "Clinical Skills Token", "dominant_hand": "right",
            "mock_type": "Clinical Skills", "exam_date": str(int(when.timestamp() * 1000))}],
            at=next(at))
        sb.associate(BOOKING_TYPE, bid, EXAM_TYPE, exam_ids[e], [to_exam])
        sb.associate(BOOKING_TYPE, bid, CONTACT_TYPE, contact_ids[c], [to_contact])
    return {"exams": exams, "contacts": contacts, "bookings": bookings}


def fewest(n: dict[str, int]) -> dict[str, int]:
    """The fewest calls HubSpot's documented page sizes allow for an import of ``n``."""
    searches = sum(math.ceil(n[k] / SEARCH_PAGE) for k in ("exams", "contacts", "bookings"))
    associations = 2 * math.ceil(n["bookings"] / ASSOCIATION_READ) + math.ceil(
        n["exams"] / ASSOCIATION_READ)
    return {"searches": searches, "associations": associations, "archived_exams": 1,
            "calls": searches + associations + 1}


def shortest_seconds(calls: int, searches: int) -> float:
    """The shortest time the sandbox's (HubSpot's) limits allow for these calls."""
    return max(searches / SEARCH_RATE, calls / (RATE / WINDOW))


def kinds(requests: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in requests:
        path = r["path"]
        kind = ("search" if path.endswith("/search") else
                "associations" if "/associations/" in path and path.endswith("/batch/read") else
                "list" if r["method"] == "GET" and "/crm/v3/objects/" in path else "other")
        out[kind] = out.get(kind, 0) + 1
    return out


def passes(requests: list[dict], started: float) -> dict[str, dict[str, float]]:
    """Per kind of record searched: searches, and seconds from the process's start to its
    first and last search (where the wall time goes)."""
    from glue.sandbox import BOOKINGS as BOOKING_TYPE
    from glue.sandbox import CONTACTS as CONTACT_TYPE
    from glue.sandbox import EXAMS as EXAM_TYPE

    out = {}
    for name, type_id in (("exams", EXAM_TYPE), ("contacts", CONTACT_TYPE),
                          ("bookings", BOOKING_TYPE)):
        times = [r["time"] for r in requests if r["path"].endswith(f"/{type_id}/search")]
        if times:
            out[name] = {"searches": len(times), "first_s": round(min(times) - started, 1),
                         "last_s": round(max(times) - started, 1)}
    return out


def digest(url: str) -> dict[str, str]:
    """Row count and md5 of each DIGESTED table's rows (as text, sorted)."""
    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for table, how in DIGESTED.items():
            if isinstance(how, str):
                query = how
            else:
                schema, name = table.split(".")
                cols = [c for (c,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                    "AND table_name = %s ORDER BY ordinal_position", (schema, name))
                    if c not in how[1]]
                query = f"SELECT {', '.join(chr(34) + c + chr(34) for c in cols)} FROM {table}"
            (md5, n) = conn.execute(
                f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)), count(*) "
                f"FROM ({query}) AS t").fetchone()
            out[table] = f"{n}:{md5}"
    return out


class Import:
    """One `mockbook import --json` subprocess; the sandbox's requests during it."""

    def __init__(self, sb: Any, env: dict[str, str]) -> None:
        self.sb = sb
        self.first = len(sb.requests)
        self.started = time.monotonic()
        self.started_at = time.time()  # the sandbox logs epoch times
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from glue.cli import main; main()", "import", "--json"],
            env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out = self.err = ""
        self.seconds = 0.0
        self.requests: list[dict] = []

    def wait_calls(self, n: int) -> None:
        if not self.sb.wait_for(lambda reqs: len(reqs) - self.first >= n, timeout=600):
            raise RuntimeError(f"the import made fewer than {n} calls in 600 s")

    def end(self, sig: int | None = None) -> int:
        if sig is not None:
            self.proc.send_signal(sig)
        self.out, self.err = self.proc.communicate(timeout=900)
        self.seconds = time.monotonic() - self.started
        self.requests = self.sb.requests[self.first:]
        return self.proc.returncode


def copy_db(name: str) -> str:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    return url_for(name)


def b11(quick: bool, schema_source: str, keep: bool = False) -> list[Figure]:
    try:
        from glue.sandbox import Sandbox
    except Exception as exc:
        return [not_measured("B11c", "B11", "first import", f"glue not importable: {exc}")]
    scale = 10 if quick else 1
    n = {"exams": EXAMS // scale, "contacts": CONTACTS // scale, "bookings": BOOKINGS // scale}
    fixtures.build(recreate_database(TEMPLATE_DB), schema_source)
    least = fewest(n)
    bound = shortest_seconds(least["calls"], least["searches"])
    figures: list[Figure] = []
    names: list[str] = []
    with Sandbox(conformance=False, setup=True, rate_limit=RATE, rate_window=WINDOW,
                 search_rate=SEARCH_RATE, access_token=TOKEN,
                 request_log_limit=None) as sb:
        t0 = time.monotonic()
        seed(sb, **n)
        # the seeded portal is never freed: the collector leaves it alone (a sweep of it pauses
        # the sandbox's answers, which HubSpot's do not)
        gc.freeze()
        log(f"B11: sandbox seeded with {n} in {time.monotonic() - t0:.1f} s; fewest calls "
            f"{least}, shortest time {bound:.1f} s")
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",
                                                                 "MOCKBOOK_SCHEMA_SOURCE")}
        env.update(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_BASE_URL=sb.base_url,
                   HUBSPOT_RATE_LIMIT=str(RATE), HUBSPOT_RATE_WINDOW_SECONDS=str(int(WINDOW)),
                   HUBSPOT_SEARCH_RATE=str(SEARCH_RATE), HUBSPOT_TIMEOUT_SECONDS="30")

        def start(db: str) -> Import:
            names.append(db)
            return Import(sb, {**env, "DATABASE_URL": copy_db(db)})

        whole = start("mockbook_bench_import_whole")
        rc = whole.end()
        if rc != 0:
            raise RuntimeError(f"import exit {rc}: {whole.out[-1500:]} {whole.err[-800:]}")
        made = whole.requests
        by_kind = kinds(made)
        reference = digest(url_for("mockbook_bench_import_whole"))
        log(f"  B11: {len(made)} calls {by_kind} in {whole.seconds:.1f} s "
            f"({sb.stats['429']} answered 429)")
        how = ("`mockbook import --json` (subprocess) into an empty database against an "
               f"in-process Sandbox(conformance=False, rate_limit={RATE}, "
               f"rate_window={WINDOW:g}, search_rate={SEARCH_RATE}) seeded with "
               f"{n['exams']:,} exams, {n['contacts']:,} contacts and {n['bookings']:,} "
               "bookings associated with their exam and contact. ")
        calls = Figure(
            id="B11c", bench="B11", title="first import: fewest calls ÷ calls made",
            value=len(made), unit="calls", reference=least["calls"],
            reference_unit="calls", reference_name="the fewest HubSpot's page sizes allow "
            "(search 200, associations batch read 1,000)",
            ratio=round(least["calls"] / len(made), 3), ratio_meaning="fewest calls / calls made",
            target=0.9, how=how + "Calls made: every request the sandbox logged, start-up "
            "checks included.")
        calls.details.update(made_by_kind=by_kind, fewest=least, records=n,
                             answered_429=sb.stats["429"])
        figures.append(calls.judge())
        timing = Figure(
            id="B11t", bench="B11", title="first import: HubSpot's limits' shortest time ÷ "
            "wall time", value=round(whole.seconds, 2), unit="s", reference=round(bound, 2),
            reference_unit="s", reference_name=f"the fewest calls at {SEARCH_RATE} searches/s "
            f"and {RATE} calls / {WINDOW:g} s",
            ratio=round(bound / whole.seconds, 3), ratio_meaning="shortest time / wall time",
            target=0.9, how=how + "Wall time: from starting the process to its exit.")
        searches = by_kind.get("search", 0)
        timing.details.update(search_rate_achieved=round(searches / whole.seconds, 3),
                              passes=passes(made, whole.started_at),
                              summary=json.loads(whole.out or "{}").get("summary"))
        figures.append(timing.judge())
        log(f"  B11c {calls.ratio}  B11t {timing.ratio} ({searches} searches, "
            f"{searches / whole.seconds:.2f}/s)")

        kills = []
        for sig in (signal.SIGKILL, signal.SIGTERM):
            db = f"mockbook_bench_import_{signal.Signals(sig).name.lower()}"
            first = start(db)
            first.wait_calls(least["calls"] // 2)
            rc1 = first.end(sig)
            again = Import(sb, {**env, "DATABASE_URL": url_for(db)})
            rc2 = again.end()
            got = digest(url_for(db))
            life = {"signal": signal.Signals(sig).name, "exit_killed": rc1, "exit_again": rc2,
                    "calls_killed": len(first.requests), "calls_again": len(again.requests),
                    "kinds_killed": kinds(first.requests), "kinds_again": kinds(again.requests),
                    "repeated_reads": reads(first.requests) + reads(again.requests)
                    - reads(made),
                    "seconds_killed": round(first.seconds, 1),
                    "seconds_again": round(again.seconds, 1),
                    "same_database": got == reference,
                    "resumed": json.loads(again.out or "{}").get("resumed")}
            kills.append(life)
            log(f"  B11k {life['signal']}: {life['calls_killed']} + {life['calls_again']} calls "
                f"({life['repeated_reads']} reads more than one import), exits {rc1}/{rc2}, "
                f"same database: {life['same_database']}")
        worst = max(k["repeated_reads"] for k in kills)
        same = all(k["same_database"] and k["exit_again"] == 0 for k in kills)
        killed = Figure(
            id="B11k", bench="B11", title="first import killed halfway and run again: reads "
            "made twice", value=worst, unit="calls", target=float(IMPORT_BOUND), target_op="<=",
            how=how + "Killed (SIGKILL; then SIGTERM) once half the fewest calls were made, "
            "then run again to the end; value = the reads (searches, lists, associations "
            "reads: not the start-up checks a new process makes) of both runs - those of the "
            "uninterrupted import (the worst of the two); target: what a killed run holds "
            "fetched and not applied, and the finished passes caught up. Each resumed "
            "database is compared with the uninterrupted one (digests of the imported tables).",
            note="" if same else "a resumed import differs from the uninterrupted one")
        killed.details.update(kills=kills, reference_digest=reference)
        figures.append(killed.judge())
        if not same:
            killed.passed = False
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        for db in [] if keep else [*names, TEMPLATE_DB]:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return figures


# The reads a killed import may make again (tests/py/sync/test_import_resume.py): the searches
# fetched ahead of the one applied (IMPORT_AHEAD), the group of bookings in hand (five pages),
# the search in flight and the group's two associations reads; then the passes it had finished
# caught up (one search each from its cursor, the exams' archived list and prerequisites).
IMPORT_BOUND = 5 + 5 + 1 + 2 + 4


RUNS = 10  # B11s: `mockbook run` after the import, one after the other
STEADY_TARGET = 10.0  # seconds, each


def steady(sb: Any, env: dict[str, str], url: str, runs: int = RUNS) -> list[dict[str, Any]]:
    """``runs`` of `mockbook run --json` in a row on the imported database: per run its
    seconds, exit, calls by kind, and what its pull read."""
    out = []
    for _ in range(runs):
        # the calls of the run before out of HubSpot's window (cron's runs are minutes apart)
        if sb.requests and (wait := sb.requests[-1]["time"] + WINDOW - time.time()) > 0:
            time.sleep(wait)
        first = len(sb.requests)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", "from glue.cli import main; main()", "run", "--json"],
            env={**env, "DATABASE_URL": url}, cwd=str(ROOT), capture_output=True, text=True,
            timeout=900)
        seconds = time.monotonic() - started
        report = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
        pulled = (report.get("steps") or {}).get("pull") or {}
        read = {k: pulled[k].get("read") for k in ("exams", "contacts")
                if isinstance(pulled.get(k), dict)}
        steps = {k: round(v.get("seconds") or 0, 2)
                 for k, v in (report.get("steps") or {}).items()}
        out.append({"seconds": round(seconds, 2), "exit": done.returncode,
                    "calls": kinds(sb.requests[first:]), "pull_read": read, "steps_s": steps})
        log(f"  B11s run: {seconds:.1f} s, exit {done.returncode}, read {read}, steps {steps}")
    return out


def b11s(quick: bool, schema_source: str, keep: bool = False) -> list[Figure]:
    """B11s alone: a burst portal imported, then RUNS runs."""
    from glue.sandbox import Sandbox

    scale = 10 if quick else 1
    n = {"exams": EXAMS // scale, "contacts": CONTACTS // scale, "bookings": BOOKINGS // scale}
    fixtures.build(recreate_database(TEMPLATE_DB), schema_source)
    db = "mockbook_bench_import_steady"
    with Sandbox(conformance=False, setup=True, rate_limit=RATE, rate_window=WINDOW,
                 search_rate=SEARCH_RATE, access_token=TOKEN, request_log_limit=None) as sb:
        seed(sb, **n, burst=True)
        gc.freeze()
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",
                                                                 "MOCKBOOK_SCHEMA_SOURCE")}
        env.update(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_BASE_URL=sb.base_url,
                   HUBSPOT_RATE_LIMIT=str(RATE), HUBSPOT_RATE_WINDOW_SECONDS=str(int(WINDOW)),
                   HUBSPOT_SEARCH_RATE=str(SEARCH_RATE), HUBSPOT_TIMEOUT_SECONDS="30")
        url = copy_db(db)
        imported = Import(sb, {**env, "DATABASE_URL": url})
        if imported.end() != 0:
            raise RuntimeError(f"import failed: {imported.out[-1500:]} {imported.err[-800:]}")
        log(f"B11s: burst portal {n} imported in {imported.seconds:.1f} s")
        runs = steady(sb, env, url)
        with psycopg.connect(url, autocommit=True) as conn:  # the cursors as before the edge
            conn.execute("UPDATE hubspot_sync.sync_metadata SET cursor = cursor - 'edge' "
                         "WHERE sync_type LIKE 'pull:%'")
        [without] = steady(sb, env, url, runs=1)
    longest = max(r["seconds"] for r in runs)
    fig = Figure(
        id="B11s", bench="B11", title=f"the steady state: the longest of {RUNS} `mockbook run` "
        "after a first import, unchanged portal", value=longest, unit="s",
        reference=without["seconds"], reference_unit="s",
        reference_name="one more run with the cursors' edge taken away (the window read again)",
        ratio=round(without["seconds"] / longest, 3),
        ratio_meaning="a run reading the window again / the longest steady run",
        target=STEADY_TARGET, target_op="<=",
        how=f"A portal of {n['contacts']:,} contacts changed within the minute before the "
        f"import ({n['exams']:,} exams, {n['bookings']:,} bookings), imported, then {RUNS} "
        "`mockbook run --json` in a row (subprocesses) on the unchanged portal; value: the "
        "longest run's wall time.")
    fig.details.update(runs=runs, without_edge=without, import_seconds=round(imported.seconds, 1),
                       records=n)
    if not keep:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            for name in (db, TEMPLATE_DB):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return [fig.judge()]


def reads(requests: list[dict]) -> int:
    """Calls that read records: all but the start-up checks (``kinds``' "other")."""
    return sum(n for kind, n in kinds(requests).items() if kind != "other")


def main(argv: list[str] | None = None) -> int:
    parser = script_arguments(__doc__)
    parser.add_argument("--steady-only", action="store_true", help="B11s alone")
    args = parser.parse_args(argv)
    figures = ([] if args.steady_only else b11(args.quick, args.schema_source, args.keep))
    figures += b11s(args.quick, args.schema_source, args.keep)
    emit(figures, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
