"""`make mutants`: seeded mechanical mutants of db/functions, each against the booking tests.

The sites are every place in the body of a function the API reaches (its call graph from
db/functions/api/, glue-only helpers left out) where one mechanical change applies: a comparison
flipped, a conjunct of a WHERE, IF or AND/OR chain dropped, AND <-> OR, IS [NOT] NULL and IS
[NOT] DISTINCT FROM negated, an integer constant +/- 1, a coalesce default changed. Strings,
comments and exception-handler conditions are never touched. The sites are taken in the order
of a hash of the seed and their id; a mutant PostgreSQL refuses to compile (with
check_function_bodies on) is stillborn and the next site takes its place, so `N=40 SEED=1` is
always the same 40 mutants of the same code (and mostly the same after a change elsewhere).

Each mutant is applied to a copy of db/ and BOOKING_TESTS run against a database built from the
copy (MOCKBOOK_SCHEMA_SOURCE=db, MOCKBOOK_DB_DIR, as tests/py/project/test_mutants.py does for
the named mutants), stopping at the first failure: a failure kills it. Two run at once. A mutant
id (`<file>:<operator>:<hash>`) hashes the line's text, its occurrence in the file, the column
and the change, so it survives edits elsewhere; tests/mutants_equivalent.toml lists the
mutants that cannot be killed, by id, with the reason. The kill rate is killed / (run -
equivalent).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from glue.db.source import apply_source  # noqa: E402

DB = ROOT / "db"
EQUIVALENT = ROOT / "tests" / "mutants_equivalent.toml"
# the booking part of the suite: every pgTAP file (broad, 25 s) first, then the RPC files of the
# booking rules, quickest first (pytest -x stops at the first failure); a survivor runs them all
# (about 6 min on the shared box, 2 at once). The 40-connection races stay out: two runs at once
# beside other suites would take the server's connections.
BOOKING_TESTS = ["tests/sql", *(f"tests/py/rpc/{name}.py" for name in (
    "test_common_case", "test_argument_checks", "test_take_seat", "test_lock_helpers",
    "test_claim_idempotent_call", "test_create_booking", "test_create_booking_atomic",
    "test_rebook", "test_cancel_booking", "test_cancel_bookings", "test_process_waitlist",
    "test_join_waitlist", "test_accept_offer", "test_set_exam_capacity", "test_mark_attendance",
    "test_set_exam_prerequisites", "test_list_contact_bookings", "test_list_available_exams",
    "test_complete_past_bookings", "test_adjust_credits", "test_get_credit_summary",
    "test_original_callers", "test_not_yours", "test_contract",
    "test_student_match", "test_exam_instants", "test_references_and_callers",
    "test_locations", "test_waitlist_steps", "test_error_codes", "test_unknown_times",
    "test_waitlist_rules", "test_who_acts", "test_unavailable", "test_term_model",
    "test_exam_changes"))]
# far longer than a statement of the booking tests takes; past it, a mutant's statement is
# cancelled
STATEMENT_TIMEOUT = "120s"
# the variables that tie a pytest process to the run that started it (tests/conftest.py)
OWN_RUN = ("MOCKBOOK_TEST_RUN", "PYTEST_XDIST_WORKER",
           "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID", "PYTEST_ADDOPTS")

DEFINES = re.compile(r"CREATE OR REPLACE FUNCTION (?:hubspot_sync|mockbook_internal)\.(\w+)\s*\(")
CALLS = re.compile(r"(?:hubspot_sync|mockbook_internal)\.(\w+)\s*\(")
BODY = re.compile(r"\bAS \$\$\n(.*?)\n\$\$;", re.S)


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str          # relative to db/
    line: int          # 1-based, for people
    op: str
    start: int         # offset in the file's text
    end: int
    replace: str
    original: str

    def apply(self, text: str) -> str:
        return text[:self.start] + self.replace + text[self.end:]


def reached_files(db_dir: Path = DB) -> list[Path]:
    """The files of db/functions whose function the API reaches (from api/, by name)."""
    files = {m.group(1): path for path in (db_dir / "functions").rglob("*.sql")
             for m in DEFINES.finditer(path.read_text())}
    seen: set[str] = set()
    todo = [name for name, path in files.items() if path.parent.name == "api"]
    while todo:
        name = todo.pop()
        if name in seen or name not in files:
            continue
        seen.add(name)
        body = "\n".join(BODY.findall(files[name].read_text()))
        todo.extend(CALLS.findall(body))
    return sorted({files[name] for name in seen})


def code_mask(body: str) -> list[bool]:
    """True where a character of a function body is code: not in a string literal, a comment
    or an exception handler's conditions (WHEN disk_full OR io_error THEN: names, not an
    expression)."""
    mask = [True] * len(body)
    comments = list(body)
    i, n = 0, len(body)
    while i < n:
        if body.startswith("--", i):
            j = body.find("\n", i)
            j = n if j < 0 else j
            comments[i:j] = " " * (j - i)
        elif body[i] == "'":
            j = i + 1
            while j < n and not (body[j] == "'" and not body.startswith("''", j)):
                j += 2 if body.startswith("''", j) else 1
            j += 1
        else:
            i += 1
            continue
        mask[i:j] = [False] * (j - i)
        i = j
    condition = r"(?:SQLSTATE\s+'\w+'|[a-z_]+)"
    for handler in re.finditer(rf"\bWHEN\s+{condition}(?:\s+OR\s+{condition})*\s+THEN\b",
                               "".join(comments)):
        mask[handler.start():handler.end()] = [False] * (handler.end() - handler.start())
    return mask


def code_matches(pattern: str, body: str, mask: list[bool], flags: int = 0):
    for m in re.finditer(pattern, body, flags):
        if all(mask[m.start():m.end()]):
            yield m


COMPARE = {"<": ">=", ">": "<=", "<=": ">", ">=": "<", "=": "<>", "<>": "=", "!=": "="}
# an assignment in an UPDATE's SET list, never a comparison
SET_TARGET = re.compile(r"(?:\bSET|,)\s*[A-Za-z_][A-Za-z_0-9.]*\s*$")


def balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def sites(body: str, mask: list[bool]) -> list[tuple[str, int, int, str]]:
    """(operator, start, end, replacement) of every mechanical change of one body."""
    found: list[tuple[str, int, int, str]] = []
    for m in code_matches(r"(?<![<>!=:@#\-|])(<=|>=|<>|!=|=|<|>)(?![=>@])", body, mask):
        if m.group() == "=" and SET_TARGET.search(body[max(0, m.start() - 80):m.start()]):
            continue
        found.append(("compare", m.start(), m.end(), COMPARE[m.group()]))
    for m in code_matches(r"\bIS (NOT )?(NULL|DISTINCT FROM)\b", body, mask):
        found.append(("negate", m.start(), m.end(),
                      m.group().replace("NOT ", "") if m.group(1) else
                      m.group().replace("IS ", "IS NOT ")))
    for m in code_matches(r"\b(AND|OR)\b", body, mask):
        before = body[max(0, m.start() - 60):m.start()]
        if m.group() == "AND" and re.search(r"\bBETWEEN\b(?!.*\bAND\b)", before, re.S):
            continue
        found.append(("and_or", m.start(), m.end(), "OR" if m.group() == "AND" else "AND"))
    # a conjunct (disjunct) that is one line: AND x / OR x / WHERE x / IF x / ELSIF x
    for m in code_matches(r"(?m)^[ \t]*(AND|OR|WHERE|IF|ELSIF)[ \t]+(.+)$", body, mask):
        cond = re.split(r"\s+(?:THEN|LOOP)\b", m.group(2))[0].rstrip().rstrip(";")
        while cond.endswith(")") and not balanced(cond):
            cond = cond[:-1]
        if not cond or not balanced(cond) or cond in ("true", "false"):
            continue
        start = m.start(2)
        found.append(("drop", start, start + len(cond),
                      "false" if m.group(1) == "OR" else "true"))
    for m in code_matches(r"(?<![\w$.:'])\d+(?![\w.'])", body, mask):
        if re.search(r"\b(LIMIT|OFFSET)\s*$", body[max(0, m.start() - 10):m.start()]):
            continue
        value = int(m.group())
        found.append(("constant", m.start(), m.end(), str(value + 1)))
        if value > 0:
            found.append(("constant", m.start(), m.end(), str(value - 1)))
    for m in code_matches(r"\bcoalesce\(", body, mask, re.I):
        depth, i, last = 1, m.end(), m.end()
        while i < len(body) and depth:
            if mask[i]:
                depth += {"(": 1, ")": -1}.get(body[i], 0)
                if body[i] == "," and depth == 1:
                    last = i + 1
            i += 1
        default = body[last:i - 1]
        value = default.strip()
        start = last + len(default) - len(default.lstrip())
        if re.fullmatch(r"-?\d+", value):
            change = str(int(value) + 1)
        elif value.lower() in ("true", "false"):
            change = "false" if value.lower() == "true" else "true"
        elif value.upper() != "NULL" and last != m.end():
            change = "NULL"
        else:
            continue
        found.append(("coalesce", start, start + len(value), change))
    return found


def all_mutants(db_dir: Path = DB) -> list[Mutant]:
    mutants: list[Mutant] = []
    for path in reached_files(db_dir):
        text = path.read_text()
        rel = path.relative_to(db_dir).as_posix()
        lines = text.split("\n")
        for body_match in BODY.finditer(text):
            body, offset = body_match.group(1), body_match.start(1)
            for op, start, end, replace in sites(body, code_mask(body)):
                at = offset + start
                line = text.count("\n", 0, at)
                column = at - (text.rfind("\n", 0, at) + 1)
                occurrence = lines[:line].count(lines[line])
                key = f"{lines[line].strip()}|{occurrence}|{column}|{op}|{replace}"
                digest = hashlib.sha1(key.encode()).hexdigest()[:10]
                mutants.append(Mutant(f"{rel}:{op}:{digest}", rel, line + 1, op, at,
                                      offset + end, replace, text[at:offset + end]))
    return sorted(mutants, key=lambda m: m.id)


def equivalents() -> dict[str, str]:
    entries = tomllib.loads(EQUIVALENT.read_text()).get("equivalent", [])
    return {e["id"]: e["reason"] for e in entries}


def server() -> str:
    return os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class Compiler:
    """A scratch database built from db/ once: a mutated file is compiled there, in a
    transaction rolled back, with check_function_bodies on."""

    def __init__(self, db_dir: Path) -> None:
        self.name = f"mb_mutate_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server(), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        url = make_conninfo(server(), dbname=self.name)
        apply_source(url, db_dir)
        self.conn = psycopg.connect(url)

    def compiles(self, text: str) -> bool:
        try:
            with self.conn.transaction(force_rollback=True):
                self.conn.execute("SET LOCAL check_function_bodies = on")
                self.conn.execute(text)
        except psycopg.Error:
            return False
        return True

    def close(self) -> None:
        self.conn.close()
        with psycopg.connect(server(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(self.name)))


def choose(n: int, seed: int, db_dir: Path = DB) -> list[Mutant]:
    """The first n mutants of the seeded order that compile."""
    # each mutant's place is a hash of the seed and its id: a site added or removed elsewhere
    # leaves the others' order as it was
    order = sorted(all_mutants(db_dir),
                   key=lambda m: hashlib.sha1(f"{seed}:{m.id}".encode()).hexdigest())
    chosen: list[Mutant] = []
    compiler = Compiler(db_dir)
    try:
        for mutant in order:
            text = (db_dir / mutant.file).read_text()
            if compiler.compiles(mutant.apply(text)):
                chosen.append(mutant)
                if len(chosen) == n:
                    break
    finally:
        compiler.close()
    return chosen


def copy_db(source: Path, tmp: str) -> Path:
    target = Path(tmp) / "db"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("migrations"))
    return target


def run(mutant: Mutant, files: list[str], source: Path) -> dict:
    """Runs the booking tests against the mutant: its outcome, time and the killing test."""
    with tempfile.TemporaryDirectory(prefix="mockbook-mutant-") as tmp:
        db_dir = copy_db(source, tmp)
        path = db_dir / mutant.file
        path.write_text(mutant.apply(path.read_text()))
        env = {k: v for k, v in os.environ.items() if k not in OWN_RUN}
        env.update(MOCKBOOK_SCHEMA_SOURCE="db", MOCKBOOK_DB_DIR=str(db_dir),
                   MOCKBOOK_TEST_ORDER="given")
        # a mutant that never answers (an endless loop) is cancelled by the server and fails
        # its test: a call that never returns is a failure the suite found (a connection that
        # sets its own statement_timeout keeps it)
        env["PGOPTIONS"] = (env.get("PGOPTIONS", "")
                            + f" -c statement_timeout={STATEMENT_TIMEOUT}").strip()
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *files, "-x", "-q", "-p", "no:randomly",
             "-p", "no:xdist", "-p", "no:cacheprovider"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = round(time.monotonic() - started, 1)
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.M)
    outcome = {0: "survived", 1: "killed"}.get(done.returncode, f"error {done.returncode}")
    print(f"  {outcome} {mutant.id} ({seconds} s)", flush=True)
    return {"seconds": seconds, "outcome": outcome, "killed_by": failed[0] if failed else None,
            "tail": done.stdout[-1500:] if outcome.startswith("error") else ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    parser.add_argument("--id", action="append", default=[],
                        help="run this mutant (repeatable) instead of the seeded ones")
    parser.add_argument("--json", type=Path, help="write the results there too")
    parser.add_argument("files", nargs="*", default=BOOKING_TESTS)
    args = parser.parse_args()
    started = time.monotonic()
    # db/ as it is now: edits made while the run lasts do not reach its mutants
    pristine = tempfile.TemporaryDirectory(prefix="mockbook-mutants-")
    source = copy_db(DB, pristine.name)
    if args.id:
        mutants = [m for m in all_mutants(source) if m.id in args.id]
        assert len(mutants) == len(set(args.id)), "no such mutant id"
    else:
        mutants = choose(args.n, args.seed, source)
    known = equivalents()
    print(f"{len(mutants)} mutants of {len(reached_files(source))} files (seed {args.seed})",
          flush=True)
    if args.list:
        for m in mutants:
            print(f"{m.id}  {m.file}:{m.line}  {m.original!r} -> {m.replace!r}")
        return 0
    todo = [m for m in mutants if m.id not in known]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = dict(zip([m.id for m in todo],
                            pool.map(lambda m: run(m, args.files, source), todo), strict=True))
    pristine.cleanup()
    results = []
    for m in mutants:
        result = {**asdict(m), **outcomes.get(m.id, {"outcome": "equivalent",
                                                      "reason": known.get(m.id)})}
        results.append(result)
        print(f"{result['outcome']:<10} {m.id}  {m.file}:{m.line}  {m.original!r} -> "
              f"{m.replace!r}  {result.get('seconds', '')}s {result.get('killed_by') or ''}"
              f"{result.get('reason') or ''}{result.get('tail') or ''}")
    killed = sum(r["outcome"] == "killed" for r in results)
    counted = sum(r["outcome"] != "equivalent" for r in results)
    survivors = [r for r in results if r["outcome"] not in ("killed", "equivalent")]
    minutes = (time.monotonic() - started) / 60
    print(f"\nkilled {killed} of {counted} ({100 * killed / max(counted, 1):.1f} %), "
          f"{len(results) - counted} equivalent, N={len(results)}, seed {args.seed}, "
          f"{minutes:.1f} min")
    for r in survivors:
        print(f"survivor: {r['id']}  {r['file']}:{r['line']}  {r['original']!r} -> "
              f"{r['replace']!r} ({r['outcome']})")
    if args.json:
        args.json.write_text(json.dumps({"seed": args.seed, "n": len(results),
                                         "killed": killed, "counted": counted,
                                         "minutes": round(minutes, 1), "mutants": results},
                                        indent=1))
    return 0 if not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
