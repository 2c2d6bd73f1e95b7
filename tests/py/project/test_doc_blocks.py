"""Every fenced code block of README.md, docs/*.md and bench/README.md runs as written, or says why
not. Each block (doc_blocks.blocks(), named by its page and first line) is one of:

- RUN: a shell block or a cron line's command, run here by bash as written (doc_blocks'
  ServedShell: `mockbook` served by this process, so no command starts an interpreter), in the
  order of the pages, against one migrated database (a copy of the run's template, the glue's
  login role where the docs use the glue's URL), one sandbox portal seeded with the records the
  docs' examples name (exam 10001, student S1042 ada@example.com, booking BK-20261126-F4W1T0, dead
  letters 12, 15 and 17) and a Redis of the test's own. The docs' placeholders stand for these
  (STAND_INS, each named); a shell block runs in an operator's shell that has loaded
  /etc/mockbook.env (operations.md's block of it, which the cron lines source themselves). Every
  `mockbook` command must exit 0 (or the code listed for it, with why) without a traceback, and
  bash too; a line the block shows that cannot run here is listed with why and checked as below;
- SQL: run in one transaction that is rolled back, against the same database;
- COMPILED: a TypeScript or JavaScript block, compiled by tsc in test_typescript_client.py (the
  ones that define something are app.ts's own; the others are compiled there with the names they
  take from around them declared: doc_blocks.TYPESCRIPT_CONTEXT);
- ELSEWHERE: run as written by another test that extracts it from the page;
- NOT_RUN: listed with why it cannot run here (a server's install as root, a systemd unit, the
  suite itself, an adoption of the production schema, ...), and checked as far as it can be: every
  command's program exists (or is named as absent here, with why), a `mockbook` command parses
  (click), an `alembic` one parses (Alembic's own parser) and names revisions this package has, a
  `make` target is the Makefile's, a path it names exists, a long option is in the program's
  `--help`; a cron line has five schedule fields; a systemd unit's ExecStart parses; an RPC
  call's function and parameters are the catalog's; a signature block is a function of the
  catalog with those parameters; JSON parses.

A block none of these fails the test, and so does a name in the lists that no block has. The
runs are checked to fail on a broken command (a misspelt option, a wrong exit code, a program
that is not there)."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
import doc_blocks
import psycopg
import push_helpers
import pytest
import sandbox_fixtures
from doc_blocks import ROOT, Block, ServedShell
from glue_role import glue_url
from pull_helpers import contact_props, exam_props
from test_doc_commands import _segments, parse

from glue.db.tstypes import as_url
from glue.sandbox import CONTACTS, EXAMS, Sandbox

sandbox = sandbox_fixtures.sandbox


@dataclass(frozen=True)
class Run:
    """Run here (the module's docstring). `codes`: a command's exit code other than 0, and why;
    `left_out`: a line (by its start) not run here, and why (it is checked as NOT_RUN's are)."""
    codes: dict[str, tuple[int, str]] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sql:
    why: str = "run in a transaction rolled back"


@dataclass(frozen=True)
class Compiled:
    why: str = "compiled by tsc in test_typescript_client.py"


@dataclass(frozen=True)
class Elsewhere:
    test: str  # the test file that runs it, extracting it from the page
    why: str


@dataclass(frozen=True)
class NotRun:
    why: str
    absent: dict[str, str] = field(default_factory=dict)  # a program not on this machine: why
    made_by_block: tuple[str, ...] = ()  # paths the block's own steps create


BLOCKS: dict[str, Run | Sql | Compiled | Elsewhere | NotRun] = {
    # ---- README.md
    "README.md: apps ── supabase.rpc ──► booking functions ──► tables ──► …": NotRun("a diagram"),
    'README.md: make demo   # the whole story on an embedded PostgreSQL: no …': Run(left_out={
        "make demo": "an embedded PostgreSQL and a rush of 2,000 students: test_demo.py runs "
                     "`mockbook demo`",
        "make test": "the suite itself"}),
    "README.md: import { createClient } from '@supabase/supabase-js'": Compiled(),
    'README.md: from postgrest.exceptions import APIError':
        NotRun("a Supabase project's API (PostgREST) through supabase-py, which the suite does "
               "not install: the same call is made through tests/py/postgrest.py by the RPC "
               "tests; here its function and parameters are checked against the catalog"),
    'README.md: */2 * * * * cd /srv/mockbook && set -a && . …': Run(),
    'README.md: export DATABASE_URL=postgresql://postgres:...@db.<project>.s …': Run(),
    'README.md: alembic stamp 0001_baseline   # the database already has the …':
        NotRun("the adoption of a production database (the production schema, then the whole "
               "upgrade): test_alembic_commands.py and test_adopt_production.py stamp and "
               "upgrade it"),
    # ---- docs/apps.md
    "docs/apps.md: import { createClient } from '@supabase/supabase-js'": Compiled(),
    'docs/apps.md: // One key per user action, reused when the same request is …': Compiled(),
    'docs/apps.md: // Reads return rows: PostgREST filters and .single() work …': Compiled(),
    "docs/apps.md: import type { Database } from './mockbook.types'": Compiled(),
    'docs/apps.md: // Acting for a student: the server signs a short-lived JWT …': Compiled(),
    'docs/apps.md: import uuid':
        NotRun("a Supabase project's API (PostgREST) through supabase-py, which the suite does "
               "not install: its function and parameters are checked against the catalog"),
    'docs/apps.md: {"id": "…", "mock_exam_id": "1234567890", "capacity": 20, …':
        Compiled("a seats message: compiled by tsc as a SeatsMessage"),
    'docs/apps.md: export async function watchSeats(url: string, anonKey: …': Compiled(),
    'docs/apps.md: export async function refreshExam(supabase: Client, examId: …':
        Compiled(),
    # ---- docs/dba.md
    'docs/dba.md: export DATABASE_URL=postgresql://postgres:...@db.<project>.s …': Run(),
    'docs/dba.md: alembic upgrade 0002_mockbook_1_0:head --sql > upgrade.sql …':
        NotRun("needs a database at the last release: test_printed_sql.py prints this upgrade "
               "and applies it with psql -v ON_ERROR_STOP=1"),
    'docs/dba.md: alembic stamp 0001_baseline':
        NotRun("the adoption of a production database: test_alembic_commands.py"),
    "docs/dba.md: ALTER ROLE service_role SET statement_timeout = '60s';  -- …": Sql(),
    'docs/dba.md: mockbook adoption list              # what is left (mockbook …': Run(),
    'docs/dba.md: alembic downgrade 0001_baseline':
        NotRun("the rollback to the production schema: test_adopt_round_trip.py"),
    'docs/dba.md: # backup (custom format: compressed, restorable object by …': Run(
        left_out={
            "psql \"$TARGET_ADMIN_URL\" -c 'CREATE ROLE mockbook_glue NOLOGIN'":
                "the cluster's roles are shared by every test: the role is there",
            "psql \"$TARGET_ADMIN_URL\" -c 'CREATE DATABASE mockbook'":
                "the test harness makes the database (named for the run, dropped with it)"}),
    "docs/dba.md: CREATE ROLE mockbook_sync LOGIN PASSWORD '...' IN ROLE …": Sql(),
    'docs/dba.md: service_role EXECUTE function hubspot_sync.accept_offer(text …':
        NotRun("a listing of privileges (test_exact_privileges.py checks the privileges)"),
    # ---- docs/development.md
    "docs/development.md: apps ── supabase.rpc ──► PostgreSQL (db/): booking functions …":
        NotRun("a diagram"),
    "docs/development.md: ('no_sunday_exams', 'boolean', NULL, 'false', true, …":
        Elsewhere("tests/py/project/test_add_a_booking_rule.py", "the walkthrough's edit"),
    'docs/development.md: -- Why: the scheduling rule no_sunday_exams (declared in …':
        Elsewhere("tests/py/project/test_add_a_booking_rule.py", "the walkthrough's new file"),
    "docs/development.md: WHEN 'no_sunday_exams' THEN":
        Elsewhere("tests/py/project/test_add_a_booking_rule.py", "the walkthrough's edit"),
    'docs/development.md: """The scheduling rule no_sunday_exams: an exam held on a …':
        Elsewhere("tests/py/project/test_add_a_booking_rule.py", "the walkthrough's test"),
    'docs/development.md: make revision':
        NotRun("rewrites the source tree (the revision's generated files, docs/rpc.md): "
               "test_add_a_booking_rule.py builds the walkthrough on a copy of db/ instead",
               made_by_block=("tests/py/rpc/test_rule_no_sunday_exams.py",)),
    "docs/development.md: .venv/bin/python -m pytest tests/py/sync/test_push.py …":
        NotRun("the suite itself"),
    # ---- docs/duplicates.md
    'docs/duplicates.md: duplicates --change --base main        # what your branch …':
        NotRun("a scan of the whole tree for repeated code (minutes)",
               absent={"duplicates": "a developer's tool of its own (see its README), not one "
                                     "of mockbook's dependencies"}),
    # ---- docs/operations.md
    'docs/operations.md: useradd --system --create-home --home-dir /srv/mockbook …':
        NotRun("a server's install, as root, of a built wheel: test_wheel.py builds the wheel, "
               "installs it into a venv of its own and runs its mockbook"),
    'docs/operations.md: cd /srv/mockbook':
        Elsewhere("tests/py/cli/test_newcomer.py", "the First run, from an empty database"),
    'docs/operations.md: */2 * * * * cd /srv/mockbook && …': Run(),
    'docs/operations.md: # /etc/systemd/system/mockbook-worker.service':
        NotRun("a systemd unit: parsed, its ExecStart's command parsed (the worker's stop is "
               "test_worker_stop.py's)"),
    'docs/operations.md: # /etc/mockbook.env (mode 0600, owner mockbook)': Run(),
    "docs/operations.md: # MOCKBOOK_WEBHOOKS_PUBLIC_URL=https://hooks.example.com/moc …":
        NotRun("an nginx site: its commented command parsed, its proxy_pass the intake's port "
               "and path"),
    'docs/operations.md: mockbook status            # a table': Run(),
    'docs/operations.md: * * * * * cd /srv/mockbook && set -a && . /etc/mockbook.env …': Run(),
    'docs/operations.md: groups:':
        NotRun("Prometheus alerting rules: each metric is one the metrics table lists "
               "(test_status.py checks the table against what status writes)"),
    'docs/operations.md: */5 * * * * cd /srv/mockbook && set -a && . …': Run(),
    'docs/operations.md: mockbook trace BK-20261126-F4W1T0      # a booking: its …': Run(),
    'docs/operations.md: $ mockbook trace BK-20261126-F4W1T0':
        NotRun("the output of the trace block's first command (run there)"),
    'docs/operations.md: mockbook dlq list            # id, entity, key (booking …': Run(),
    'docs/operations.md: mockbook pull && mockbook reconcile              # report …': Run(),
    'docs/operations.md: 30 3 * * * cd /srv/mockbook && set -a && . /etc/mockbook.env …': Run(),
    'docs/operations.md: {"ts": "2026-03-02T08:53:13.559+00:00", "level": "info", …':
        NotRun("a log line: parsed"),
    'docs/operations.md: mockbook up        # start it, print its URL':
        NotRun("the embedded PostgreSQL (an initdb): test_cli.py runs up and down"),
    # ---- bench/README.md
    "bench/README.md: make bench                                   # all of …":
        NotRun("the benchmarks (minutes to hours): test_bench_tools.py runs their tools"),
}
# docs/rpc.md's blocks without a language are the functions' signatures, generated from the
# catalog (test_rpc_docs.py); here each is a function of the catalog with those parameters.
SIGNATURE_PAGE = "docs/rpc.md"
# a signature rpc.md gives of a function a new database does not have, and why
SIGNATURES_NOT_HERE = {
    "get_booking_aggregates": "production's, which the migrations drop where production's "
                              "booking_details_view is missing (every new database)",
}

# what the docs write for the server's values, and what stands for each here
STAND_INS: list[tuple[str, str]] = [
    ("postgresql://postgres:...@db.<project>.supabase.co:5432/postgres", "{owner}"),
    ("postgresql://postgres:secret@db.internal:5432/mockbook", "{owner}"),
    ("postgresql://mockbook:secret@db.internal:5432/mockbook", "{glue}"),
    ("postgresql://mockbook@db/mockbook", "{glue}"),
    ('"$TARGET_ADMIN_URL"', "{owner}"),
    ('"$TARGET_URL"', "{target}"),
    ("redis://127.0.0.1:6379/0", "{redis}"),
    ("pat-na1-...", "{token}"),
    ("pat-...", "{token}"),
    ("/srv/mockbook", "{workdir}"),
    ("/etc/mockbook.env", "{workdir}/mockbook.env"),
    ("/var/log/mockbook/", "{workdir}/log/"),
    ("/var/lib/node_exporter/textfile_collector/", "{workdir}/metrics/"),
]
ENV_FILE = 'docs/operations.md: # /etc/mockbook.env (mode 0600, owner mockbook)'
# a page's shell beyond the environment file: the DBA's has DATABASE_URL as dba.md's own
# `export` line sets it (the schema owner's)
SHELL_OF_PAGE = {"docs/dba.md": "export DATABASE_URL=postgresql://postgres:...@db.<project>"
                                ".supabase.co:5432/postgres\n"}
# what the docs' examples name: the seeded records
EXAMPLE_BOOKING, EXAMPLE_STUDENT, EXAMPLE_EMAIL = "BK-20261126-F4W1T0", "S1042", "ada@example.com"
EXAMPLE_DEAD_LETTERS = (12, 15, 17)
DEAD_LETTERS_BLOCK = "docs/operations.md: mockbook dlq list            # id, entity, key (booking …"
# programs a block may name without running them here: a shell's own words, and paths the docs
# give on the server
BUILTINS = {"cd", "set", ".", "export", "source", ":", "echo", "rm", "mkdir", "xargs", "cp",
            "grep", "git", "true"}


def by_key() -> dict[str, Block]:
    return {block.key: block for block in doc_blocks.blocks()}


def kind(block: Block) -> Run | Sql | Compiled | Elsewhere | NotRun | None:
    if block.page == SIGNATURE_PAGE and block.lang == "":
        return NotRun("a signature generated from the catalog (test_rpc_docs.py)")
    return BLOCKS.get(block.key)


# ---- the classification ------------------------------------------------------------------------
def test_every_block_is_classified() -> None:
    found = doc_blocks.blocks()
    assert len(found) > 60  # not vacuous
    keys = [b.key for b in found]
    assert len(keys) == len(set(keys)), "two blocks of one page begin with the same line"
    unknown = [f"{b.where}: {b.key!r}" for b in found if kind(b) is None]
    assert unknown == [], ("blocks neither run nor listed with why (tests/py/project/"
                           "test_doc_blocks.py BLOCKS):\n" + "\n".join(unknown))
    gone = sorted(set(BLOCKS) - set(keys))
    assert gone == [], f"BLOCKS names blocks no page has: {gone}"
    for b in found:
        k = kind(b)
        if isinstance(k, Compiled):
            assert b.lang in ("ts", "js", "json"), b.where
        if isinstance(k, Sql):
            assert b.lang == "sql", b.where
        if isinstance(k, Run):
            assert b.lang in ("sh", "cron"), b.where


def test_blocks_run_elsewhere_are_extracted_there() -> None:
    """A test named as running a block reads the block's page, and its section's heading or its
    first line."""
    blocks = by_key()
    for key, k in BLOCKS.items():
        if isinstance(k, Elsewhere):
            source = (ROOT / k.test).read_text()
            page = blocks[key].page
            assert page.split("/")[-1] in source and ("## " in source or "```" in source), (
                f"{k.test} does not read {page}")


def test_compiled_blocks_are_the_ones_tsc_compiles() -> None:
    """Each JS/TS block is app.ts's own (it defines something) or one test_typescript_client.py
    compiles with its context (doc_blocks.TYPESCRIPT_CONTEXT), as is a payload's JSON."""
    app = (ROOT / "clients" / "typescript" / "app.ts").read_text()
    compiled = doc_blocks.typescript_sources()
    for block in doc_blocks.blocks():
        if isinstance(kind(block), Compiled):
            assert block.text in app or block.key in doc_blocks.TYPESCRIPT_CONTEXT, block.where
    assert set(doc_blocks.TYPESCRIPT_CONTEXT) <= {b.key for b in doc_blocks.blocks()}
    assert len(compiled) == len(doc_blocks.TYPESCRIPT_CONTEXT)


# ---- static checks (NOT_RUN blocks, left-out lines) --------------------------------------------
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def _commands(text: str) -> list[list[str]]:
    """The simple commands of shell text (lines joined at `\\`, comments dropped, split at
    operators and parentheses, redirections and leading environment assignments dropped; `sudo
    -u USER` dropped: the command is what it runs)."""
    found = []
    for line in text.replace("\\\n", " ").splitlines():
        for command in _segments(line):
            while command and _ASSIGNMENT.match(command[0]):
                command = command[1:]
            while command[:1] == ["sudo"]:
                command = command[3:] if command[1:2] == ["-u"] else command[1:]
            if command:
                found.append(command)
    return found


def _schedule_and_command(line: str) -> tuple[list[str], str]:
    fields = line.split(None, 5)
    return fields[:5], fields[5]


_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


def cron_problems(line: str) -> list[str]:
    schedule, _ = _schedule_and_command(line)
    return [f"cron field {f!r} is not a schedule" for f in schedule if not _CRON_FIELD.match(f)]


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def _alembic_problems(args: list[str]) -> list[str]:
    from alembic.config import CommandLine

    from glue.db import migrations

    try:
        options = CommandLine(prog="alembic").parser.parse_args(args)
    except SystemExit:
        return [f"alembic {' '.join(args)}: Alembic refuses the arguments"]
    known = {*migrations.revisions(), "head", "base", "heads"}
    wanted = getattr(options, "revision", None) or getattr(options, "revisions", None) or []
    wanted = [wanted] if isinstance(wanted, str) else wanted
    return [f"alembic {' '.join(args)}: no revision {r}" for w in wanted for r in w.split(":")
            if r and r not in known]


def command_problems(command: list[str], not_run: NotRun) -> list[str]:
    """Why a command the docs show, not run here, would not run as written."""
    program, args = command[0], command[1:]
    name = program.rsplit("/", 1)[-1]
    if name == "mockbook":
        try:
            parse(shlex.join(["mockbook", *args]))
        except (click.UsageError, AssertionError) as exc:
            return [f"{shlex.join(command)}: {exc}"]
        return []
    if name == "alembic":
        return _alembic_problems(args)
    if name == "make":
        return [f"make {t}: no such target" for t in args if t not in _make_targets()]
    if name in ("python", "python3") and args[:1] == ["-m"]:
        return _python_module_problems(args[1:], not_run)
    if name in BUILTINS or (name in not_run.absent and shutil.which(name) is None):
        return []
    if program.startswith(("/", ".")) and "/.venv/bin/" in f"/{program}":
        return [] if (ROOT / ".venv" / "bin" / name).exists() else [f"{program}: not in a venv"]
    if shutil.which(name) is None and not (ROOT / program).exists():
        return [f"{program}: not on this machine"]
    return _paths_exist(args, not_run)


def _python_module_problems(args: list[str], not_run: NotRun) -> list[str]:
    import importlib.util

    module, rest = args[0], args[1:]
    if importlib.util.find_spec(module) is None:
        return [f"python -m {module}: no such module"]
    return _paths_exist(rest, not_run)


def _paths_exist(args: list[str], not_run: NotRun) -> list[str]:
    return [f"{a}: no such file" for a in args
            if re.match(r"^(tests|glue|db|bench|docs)/\S+\.\w+$", a)
            and not (ROOT / a).exists() and a not in not_run.made_by_block]


def long_option_problems(commands: list[list[str]]) -> list[str]:
    """A long option given to a program (not mockbook, alembic, python or make) that its `--help`
    does not list: one bash process for all of them."""
    wanted: dict[str, set[str]] = {}
    for command in commands:
        name = command[0].rsplit("/", 1)[-1]
        if name in ("mockbook", "alembic", "python", "python3", "make", "pip") or (
                name in BUILTINS or shutil.which(name) is None):
            continue
        wanted.setdefault(name, set()).update(
            w.split("=")[0] for w in command[1:] if w.startswith("--"))
    wanted = {k: v for k, v in wanted.items() if v}
    if not wanted:
        return []
    script = "; ".join(f"echo '@@ {n}'; {n} --help 2>&1" for n in sorted(wanted))
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                         timeout=60).stdout
    helps = dict(part.split("\n", 1) for part in out.split("@@ ")[1:])
    return [f"{name} {option}: not in `{name} --help`" for name, options in wanted.items()
            for option in sorted(options)
            if not re.search(rf"(^|[\s,]){re.escape(option)}\b", helps.get(name, ""))]


def static_problems(block: Block, not_run: NotRun) -> list[str]:
    """NOT_RUN's checks of one block (the module's docstring)."""
    if block.page == SIGNATURE_PAGE and block.lang == "":
        return []  # against the catalog: test_signatures_are_the_catalogs
    if block.lang in ("sh", "cron"):
        text = block.text
        problems = []
        if block.lang == "cron":
            problems += cron_problems(text.strip())
            text = _schedule_and_command(text.strip())[1]
        commands = _commands(text)
        problems += [p for c in commands for p in command_problems(c, not_run)]
        return problems + long_option_problems(commands)
    if block.lang == "json":
        try:
            json.loads(block.text)
        except ValueError as exc:
            return [f"not JSON: {exc}"]
        return []
    if block.lang == "ini":
        return unit_problems(block.text)
    if block.lang == "nginx":
        return nginx_problems(block.text)
    if block.lang == "yaml":
        return rules_problems(block.text)
    if block.lang == "python":
        try:
            compile(block.text, block.where, "exec")
        except SyntaxError as exc:
            return [f"not Python: {exc}"]
    return []


def unit_problems(text: str) -> list[str]:
    unit = configparser.ConfigParser(strict=True, interpolation=None, comment_prefixes=("#",))
    unit.optionxform = str  # systemd's keys are case-sensitive
    unit.read_string(text)
    problems = [f"no [{s}] section" for s in ("Unit", "Service", "Install")
                if not unit.has_section(s)]
    start = shlex.split(unit.get("Service", "ExecStart", fallback=""))
    if not start or not start[0].endswith("/mockbook"):
        return [*problems, f"ExecStart is not mockbook: {start}"]
    return problems + command_problems(start, NotRun(""))


def nginx_problems(text: str) -> list[str]:
    from glue.config import declared

    serve = re.search(r"^#\s*(mockbook webhooks serve .*)$", text, re.M)
    proxy = re.search(r"proxy_pass http://([\d.]+):(\d+)(\S*);", text)
    if serve is None or proxy is None:
        return ["no commented `mockbook webhooks serve` or no proxy_pass"]
    problems = command_problems(shlex.split(serve[1]), NotRun(""))
    words = shlex.split(serve[1])
    host, port = words[words.index("--host") + 1], words[words.index("--port") + 1]
    if (proxy[1], proxy[2]) != (host, port):
        problems.append(f"proxy_pass {proxy[1]}:{proxy[2]} is not the intake's {host}:{port}")
    default_path = declared("MOCKBOOK_WEBHOOKS_PATH").default
    if proxy[3] != default_path:
        problems.append(f"proxy_pass path {proxy[3]} is not the intake's {default_path}")
    return problems


def rules_problems(text: str) -> list[str]:
    table = (ROOT / "docs" / "operations.md").read_text()
    listed = set(re.findall(r"^\| `(mockbook_\w+)` \|", table, re.M))
    named = set(re.findall(r"\b(mockbook_\w+)\b", text)) - {"mockbook"}
    assert named, "the rules name no metric"
    return [f"metric {m} is not in the metrics table" for m in sorted(named - listed)]


def test_blocks_not_run_here_are_as_written() -> None:
    problems = []
    for block in doc_blocks.blocks():
        k = kind(block)
        checks: list[tuple[str, NotRun]] = []
        if isinstance(k, NotRun):
            checks = [(block.text, k)]
        elif isinstance(k, Run):  # its lines left out
            checks = [(line, NotRun(why)) for start, why in k.left_out.items()
                      for line in block.text.splitlines() if line.startswith(start)]
            assert len(checks) == len(k.left_out), f"{block.where}: a left-out line is gone"
        for text, not_run in checks:
            piece = Block(block.page, block.line, block.lang, text)
            problems += [f"{block.where}: {p}" for p in static_problems(piece, not_run)]
    assert problems == [], "\n".join(problems)


# a documented command broken, each form: refused
@pytest.mark.parametrize("lang, text", [
    ("sh", "alembic stamp 0001_baselin"),
    ("sh", "alembic upgrade --sqll head"),
    ("sh", "make revisions"),
    ("sh", "useradd --sytem mockbook"),
    ("sh", "pg_dump --format-custom -f x.dump db"),
    ("sh", "sudo -u mockbook /srv/mockbook/.venv/bin/mockbook --versio"),
    ("sh", ".venv/bin/python -m pytest tests/py/sync/test_pushh.py"),
    ("sh", "mockbook-setup --now"),
    ("cron", "*/2 * * * cd /srv && .venv/bin/mockbook run"),
    ("cron", "*/2 * * * * cd /srv && .venv/bin/mockbook run --jsn"),
    ("ini", "[Unit]\n[Service]\nExecStart=/srv/mockbook/.venv/bin/mockbook worker --jsn\n"
            "[Install]\n"),
    ("nginx", "# mockbook webhooks serve --host 127.0.0.1 --port 8080\n"
              "location / { proxy_pass http://127.0.0.1:8081/webhooks/hubspot; }\n"),
    ("yaml", "- alert: X\n  expr: mockbook_sync_lag_seconds > 30\n"),
    ("json", '{"a": 1,}'),
])
def test_a_broken_block_not_run_is_refused(lang: str, text: str) -> None:
    assert static_problems(Block("docs/x.md", 1, lang, text), NotRun("")) != []


# ---- signatures, RPC calls, JSON payloads ------------------------------------------------------
_SIGNATURE = re.compile(r"^(\w+)\((.*?)\)\s*→", re.S)
_RPC_CALL = re.compile(r"""rpc\(\s*["'](\w+)["']\s*,\s*\{(.*?)\}""", re.S)


def _catalog(conn: psycopg.Connection) -> dict[str, list[set[str]]]:
    """{function of the API: [its input parameters' names, one set per overload]}."""
    rows = conn.execute(
        "SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p"
        " WHERE p.pronamespace = 'hubspot_sync'::regnamespace").fetchall()
    found: dict[str, list[set[str]]] = {}
    for name, args in rows:
        found.setdefault(name, []).append(set(re.findall(r"(?:^|, )(\w+) ", args)))
    return found


def test_signatures_and_calls_are_the_catalogs(db: psycopg.Connection) -> None:
    """A signature block of docs/rpc.md is a function of the API with exactly those parameters;
    an RPC call in a Python block names a function and parameters it has."""
    catalog = _catalog(db)
    problems, signatures, calls = [], 0, 0
    for block in doc_blocks.blocks():
        if block.page == SIGNATURE_PAGE and block.lang == "":
            m = _SIGNATURE.match(block.text)
            assert m, block.where
            params = set(re.findall(r"(?:^|,)\s*(\w+)\s+\w", m[2]))
            signatures += 1
            if params not in catalog.get(m[1], []) and m[1] not in SIGNATURES_NOT_HERE:
                problems.append(f"{block.where}: {m[1]}({', '.join(sorted(params))})")
        if block.lang == "python" and isinstance(kind(block), NotRun):
            for name, body in _RPC_CALL.findall(block.text):
                calls += 1
                given = set(re.findall(r"""["'](p_\w+)["']\s*:""", body))
                if not any(given <= params for params in catalog.get(name, [])):
                    problems.append(f"{block.where}: {name}({', '.join(sorted(given))})")
    assert signatures > 30 and calls >= 2
    assert problems == [], "\n".join(problems)


# ---- SQL blocks --------------------------------------------------------------------------------
def test_sql_blocks_run(database_url: str) -> None:
    ran = 0
    for block in doc_blocks.blocks():
        if isinstance(kind(block), Sql):
            with psycopg.connect(database_url) as conn:  # one transaction, rolled back
                conn.execute(block.text)
                conn.rollback()
            ran += 1
    assert ran >= 2


# ---- the run -----------------------------------------------------------------------------------
def _free_port() -> int:
    for port in range(21400, 21500):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 21400-21499")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server of the test's own (the machine's is shared)."""
    port = _free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def stand_in(text: str, values: dict[str, str]) -> str:
    for written, standing in STAND_INS:
        text = text.replace(written, standing.format(**values))
    return text


def script_of(block: Block, run: Run, values: dict[str, str]) -> str:
    """The block's shell text as bash runs it here: a cron line's command; a shell block after
    loading the environment file (an operator's shell); left-out lines made `:`."""
    if block.lang == "cron":
        return stand_in(_schedule_and_command(block.text.strip())[1], values)
    lines = [": left out" if any(line.startswith(s) for s in run.left_out) else line
             for line in block.text.splitlines()]
    env_file = f"{values['workdir']}/mockbook.env"
    prelude = f"set -a; . {env_file}; set +a\n" + SHELL_OF_PAGE.get(block.page, "")
    return stand_in(prelude + "\n".join(lines), values)


def run_problems(block: Block, run: Run, ran: doc_blocks.Ran) -> list[str]:
    problems = []
    for served in ran.served:
        want = run.codes.get(served.line, (0, ""))[0]
        if served.code != want or "Traceback" in served.err:
            problems.append(f"{block.where}: `{served.line}` exit {served.code} (want {want}): "
                            f"{served.err.strip()[-600:]}")
    if ran.code != 0:
        problems.append(f"{block.where}: bash exit {ran.code}: {ran.err.strip()[-600:]}")
    expected = [c for c in _commands(script_of(block, run, _NO_VALUES))
                if c[0].rsplit("/", 1)[-1] == "mockbook"]
    if len(ran.served) != len(expected):
        problems.append(f"{block.where}: {len(ran.served)} mockbook commands ran, the block has "
                        f"{len(expected)}")
    return problems


_NO_VALUES = {k: k for k in ("owner", "glue", "target", "redis", "token", "workdir")}


def seed_examples(sb: Sandbox, owner: str, env: dict[str, str], shell: ServedShell) -> None:
    """The records the docs' examples name: exam 10001 (the portal's first record), student
    S1042 (ada@example.com) pulled from the portal, booking BK-20261126-F4W1T0 made through the
    API."""
    from postgrest import rpc

    [exam] = sb.seed(EXAMS, [exam_props(mock_exam_name="Clinical Skills", capacity="20")])
    assert exam == "10001"
    sb.seed(CONTACTS, [contact_props(EXAMPLE_STUDENT, email=EXAMPLE_EMAIL, cs_credits="3")])
    code, _, err = shell.call(["pull"], {**env, "DATABASE_URL": glue_url(owner)},
                              str(shell.workdir))
    assert code == 0, err
    with psycopg.connect(owner, autocommit=True) as conn:
        rpc(conn, "create_booking", p_student_id=EXAMPLE_STUDENT, p_email=EXAMPLE_EMAIL,
            p_mock_exam_id=exam, p_idempotency_key="docs-example",
            p_dominant_hand="right", p_booking_id=EXAMPLE_BOOKING)


def seed_dead_letters(owner: str) -> None:
    """Dead letters 12, 15 and 17 of the example booking, before the block that handles them
    (before it, `status --check` is quiet)."""
    with psycopg.connect(owner, autocommit=True) as conn:
        for letter in EXAMPLE_DEAD_LETTERS:
            conn.execute(
                "INSERT INTO hubspot_sync.sync_errors (id, entity_type, entity_id, direction,"
                " operation, error, attempts) VALUES (%s, 'bookings', %s, 'push', 'upsert',"
                " 'HubSpot answered 400: a property value was refused', 8)",
                (letter, EXAMPLE_BOOKING))


def test_the_blocks_run_as_written(make_database: Callable, fresh_database: Callable,
                                   sandbox: Sandbox, redis_url: str) -> None:
    owner = make_database("doc_blocks", migrated=True)
    target = fresh_database("doc_blocks_restore")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "REDIS_", "HUBSPOT_", "MOCKBOOK_", "PG"))}
    env |= {"HUBSPOT_BASE_URL": sandbox.base_url,
            "HUBSPOT_TIMEOUT_SECONDS": str(push_helpers.HTTP_TIMEOUT)}
    blocks = by_key()
    with ServedShell(env) as shell:
        values = {"owner": as_url(owner), "glue": as_url(glue_url(owner)), "target": as_url(target),
                  "redis": redis_url, "token": push_helpers.TOKEN,
                  "workdir": str(shell.workdir)}
        for name in ("log", "metrics"):
            (shell.workdir / name).mkdir()
        (shell.workdir / "mockbook.env").write_text(stand_in(blocks[ENV_FILE].text, values))
        seed_examples(sandbox, owner, {**env, "HUBSPOT_ACCESS_TOKEN": push_helpers.TOKEN},
                      shell)
        problems, ran = [], 0
        for block in doc_blocks.blocks():
            run = kind(block)
            if not isinstance(run, Run) or block.key == ENV_FILE:
                continue
            if block.key == DEAD_LETTERS_BLOCK:
                seed_dead_letters(owner)
            done = shell.run(script_of(block, run, values))
            ran += len(done.served)
            problems += run_problems(block, run, done)
    assert problems == [], "\n".join(problems)
    assert ran >= 25


# a documented command broken, as the run meets it: refused
@pytest.mark.parametrize("text, wanted", [
    ("mockbook status --chek\n", "`mockbook status --chek` exit 2 (want 0)"),
    ("mockbook --versio && mockbook --version\n", "1 mockbook commands ran, the block has 2"),
    ("mockbook-status --check\n", "bash exit 127"),
    ("mockbook --version > /nowhere/x\n", "bash exit 1"),
])
def test_a_broken_block_run_fails(text: str, wanted: str, tmp_path: Path) -> None:
    block = Block("docs/x.md", 1, "sh", text)
    with ServedShell({"PATH": "/usr/bin:/bin"}) as shell:
        values = {**_NO_VALUES, "workdir": str(shell.workdir)}
        (shell.workdir / "mockbook.env").write_text("")
        problems = run_problems(block, Run(), shell.run(script_of(block, Run(), values)))
    assert any(wanted in p for p in problems), problems


def test_an_exit_code_listed_is_wanted(tmp_path: Path) -> None:
    block = Block("docs/x.md", 1, "sh", "mockbook status --chek || true\n")
    run = Run(codes={"mockbook status --chek": (2, "a usage error, on purpose")})
    with ServedShell({"PATH": "/usr/bin:/bin"}) as shell:
        values = {**_NO_VALUES, "workdir": str(shell.workdir)}
        (shell.workdir / "mockbook.env").write_text("")
        assert run_problems(block, run, shell.run(script_of(block, run, values))) == []
