"""Two revisions of db/ compared by the machine instructions one booking takes.

    bench/instructions.py [--base REV] [--subject REV] [--bookings 200] [--callgrind DIR]
    bench/instructions.py --broadcasts [--bookings 200] [--callgrind DIR]

ABBA (bench/abba.py) measures bookings a second, which on a shared 2-core machine swing by a few
per cent between rounds; the instructions the server executes for one booking do not (repeated
runs agree within ±0.5 %). This counts them, for both revisions, on the same fixture:

- **A scratch server.** `initdb` in a temporary folder (as the `postgres` OS user when run as
  root), autovacuum off, on its own port; nothing of the main server is used.
- **The same rows.** Each side's database is built as bench/abba.py builds its two (B1's
  fixture, the digest checked), then makes 3,000 bookings and is analyzed, so its plans are
  those of a database in use.
- **Counted.** The server is stopped and each side runs in single-user mode (`postgres --single`)
  under valgrind (`--tool=callgrind`, instruction counts only): a procedure makes 50 bookings
  (warm-up: functions compiled, plans cached) then N, each committed, as PostgREST sends them
  (role, claims and method set in the transaction, then `create_booking`); and again with 50
  then 50. Instructions per booking = (count of the first − count of the second) ÷ (N − 50):
  start-up, compilation and the warm-up cancel out.

`--broadcasts` (B17's cost, noise-free): one database of the working tree built as
bench/broadcasts.py builds it (Supabase Realtime's schema, then db/, then B1's fixture), counted
with broadcasts off (base) and on (subject; hubspot_sync.set_realtime_broadcasts before the run).

Prints instructions per booking for each side and base ÷ subject (above 1: the subject takes
fewer); writes bench/results/<UTC timestamp>-instructions.json. Needs valgrind and the server's
binaries (pg_config --bindir of the server's major).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import abba  # noqa: E402
import fixtures  # noqa: E402
import psycopg  # noqa: E402
from common import log, recreate_database  # noqa: E402

PORT = 54329
WARM_UP = 50
# one booking per call as a PostgREST request makes it (fixtures.booking_script's call)
BOOK_PROCEDURE = f"""
CREATE PROCEDURE public.bench_book(p_first bigint, p_count integer) LANGUAGE plpgsql AS $$
BEGIN
    FOR n IN p_first .. p_first + p_count - 1 LOOP
        PERFORM set_config('role', 'service_role', true),
                set_config('request.jwt.claims', '{{"role": "service_role", "sub": null}}', true),
                set_config('request.method', 'POST', true);
        PERFORM hubspot_sync.create_booking(
            p_student_id := 'B' || (n % {fixtures.STUDENTS}),
            p_email := 'b' || (n % {fixtures.STUDENTS}) || '@example.com',
            p_mock_exam_id := 'BX' || (n % {fixtures.SPREAD_EXAMS}),
            p_idempotency_key := 'instructions-' || n, p_attending_location := 'mississauga');
        COMMIT;
    END LOOP;
END $$;
"""


SWITCH = ("SELECT hubspot_sync.set_realtime_broadcasts(p_enabled := %s, "
          "p_actor := 'bench')\n")


def build_broadcasts(name: str) -> dict[str, Any]:
    """--broadcasts: the working tree's database with Realtime's schema, in use (3,000 bookings
    with broadcasts on); what it was."""
    import broadcasts
    url = recreate_database(name)
    broadcasts.build(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(BOOK_PROCEDURE)
        conn.execute("CALL public.bench_book(0, 3000)")
        conn.execute("VACUUM ANALYZE")
        messages = conn.execute("SELECT count(*) FROM realtime.messages").fetchone()[0]
    return {"what": "instructions per create_booking, broadcasts off ÷ on",
            "base": {"broadcasts": "off"}, "subject": {"broadcasts": "on"},
            "commit": abba.git("rev-parse", "HEAD"),
            "uncommitted_db": bool(abba.git("status", "--porcelain", "--", "db")),
            "realtime_messages_after_3000": messages}


def as_postgres(cmd: list[str]) -> list[str]:
    """The server refuses to run as root: run its binaries as the postgres OS user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def bindir() -> Path:
    major = abba.server_info()["version_num"] // 10000
    found = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (found / "postgres").exists():
        raise SystemExit(f"no PostgreSQL {major} binaries in {found}")
    return found


def start(binaries: Path, data: Path) -> None:
    subprocess.run(as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-w", "-l",
                                str(data.parent / "log"), "-o",
                                f"-p {PORT} -k {data.parent} -c autovacuum=off "
                                "-c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True, timeout=120)


def stop(binaries: Path, data: Path) -> None:
    subprocess.run(as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-w", "stop"]),
                   check=True, capture_output=True, timeout=120)


def count(binaries: Path, data: Path, dbname: str, first: int, bookings: int,
          out: Path | None = None, prelude: str = "") -> int:
    """Instructions of one single-user run: `prelude`, WARM_UP bookings, then `bookings` (`out`:
    where callgrind writes its profile, else nowhere)."""
    script = prelude + (f"CALL public.bench_book({first}, {WARM_UP})\n"
              f"CALL public.bench_book({first + WARM_UP}, {bookings})\n")
    done = subprocess.run(
        as_postgres(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out or '/dev/null'}",
                     str(binaries / "postgres"), "--single", "-D", str(data),
                     "-c", "autovacuum=off", dbname]),
        input=script, capture_output=True, text=True, timeout=3600)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found or "ERROR:" in done.stdout + done.stderr:
        raise SystemExit(f"single-user run failed: {done.stdout[-800:]} {done.stderr[-800:]}")
    return int(found.group(1))


def per_booking(binaries: Path, data: Path, dbname: str, first: int, bookings: int,
                profile: Path | None = None, prelude: str = "") -> float:
    """Instructions a booking; `profile`: where the longer run's callgrind profile goes;
    `prelude`: SQL each run starts with (--broadcasts: the switch)."""
    extra: dict[str, Any] = {"prelude": prelude} if prelude else {}
    if profile is None:
        longer = count(binaries, data, dbname, first, bookings, **extra)
    else:
        # the server writes it as its own OS user: into the run's folder, then copied
        written = data.parent / profile.name
        longer = count(binaries, data, dbname, first, bookings, written, **extra)
        shutil.copyfile(written, profile)
    shorter = count(binaries, data, dbname, first + 10 * bookings, WARM_UP, **extra)
    return (longer - shorter) / (bookings - WARM_UP)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="git revision of the reference (default: the commit "
                                       "that cut the last release)")
    parser.add_argument("--subject", default=abba.WORKTREE,
                        help="git revision measured against it (default: the working tree)")
    parser.add_argument("--broadcasts", action="store_true",
                        help="the working tree's bookings with Realtime broadcasts off (base) "
                             "and on (subject), one database")
    parser.add_argument("--bookings", type=int, default=250,
                        help=f"bookings counted after the warm-up (default 250; > {WARM_UP})")
    parser.add_argument("--results", type=Path, default=abba.RESULTS,
                        help="folder of the JSON (default bench/results)")
    parser.add_argument("--callgrind", type=Path,
                        help="also write each side's callgrind profile of its counted run "
                             "here (<side>.callgrind, for callgrind_annotate --inclusive=yes)")
    args = parser.parse_args(argv)
    if args.bookings <= WARM_UP:
        parser.error(f"--bookings must be more than {WARM_UP}")
    if not shutil.which("valgrind"):
        parser.error("needs valgrind (apt-get install valgrind)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, stamp = time.monotonic(), datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    binaries = bindir()
    run: dict[str, Any] = {"stamp": stamp, "what": "instructions per create_booking, base ÷ "
                           "subject", "bookings": args.bookings, "warm_up": WARM_UP}
    with tempfile.TemporaryDirectory(prefix="mockbook-instructions-") as tmp:
        folder = Path(tmp)
        data = folder / "data"
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        subprocess.run(as_postgres([str(binaries / "initdb"), "-D", str(data), "-A", "trust",
                                    "-U", "postgres"]), check=True, capture_output=True,
                       timeout=300)
        start(binaries, data)
        os.environ["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{PORT}/postgres"
        names = {role: f"instructions_{role}" for role in ("base", "subject", "template")}
        preludes = {"base": "", "subject": ""}
        try:
            if args.broadcasts:
                names["base"] = names["subject"] = "instructions_broadcasts"
                preludes = {"base": SWITCH % "false", "subject": SWITCH % "true"}
                run.update(build_broadcasts(names["base"]))
            else:
                sides = {"base": abba.side(args.base or abba.last_release_commit(),
                                           folder / "base"),
                         "subject": abba.side(args.subject, folder / "subject")}
                run.update({role: {k: v for k, v in s.items() if k != "db_dir"}
                            for role, s in sides.items()})
                run["fixture"] = abba.build(sides, names)
                for role in ("base", "subject"):
                    with psycopg.connect(abba.url_for(names[role]), autocommit=True) as conn:
                        conn.execute(BOOK_PROCEDURE)
                        conn.execute("CALL public.bench_book(0, 3000)")
                        conn.execute("VACUUM ANALYZE")
        finally:
            stop(binaries, data)
        for role in ("base", "subject"):
            profile = None
            if args.callgrind is not None:
                args.callgrind.mkdir(parents=True, exist_ok=True)
                profile = args.callgrind.resolve() / f"{role}.callgrind"
            # (one database for --broadcasts: each side its own bookings)
            first = 1_000_000 if role == "base" else 2_000_000
            run[role]["instructions_per_booking"] = round(
                per_booking(binaries, data, names[role], first, args.bookings, profile,
                            preludes[role]))
            log(f"{role}: {run[role]['instructions_per_booking']:,} instructions a booking")
    run["ratio"] = round(run["base"]["instructions_per_booking"]
                         / run["subject"]["instructions_per_booking"], 3)
    run["duration_s"] = round(time.monotonic() - started, 1)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{stamp}-instructions.json"
    path.write_text(json.dumps(run, indent=2) + "\n")
    log(f"base ÷ subject = {run['ratio']} (above 1: the subject takes fewer); wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
