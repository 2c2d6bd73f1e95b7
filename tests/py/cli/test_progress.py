"""The long commands (`migrate`, `migrate --check`, `import`, `reconcile`, `run`) on a terminal show
their progress while they run (a bar on stderr, read here through a pseudo-terminal), and end
with one summary line; without a terminal (a pipe, cron) the same summary line and no escape
code at all. The `make venv` install says what it is doing before it starts and when it is done."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import push_helpers
import sandbox_fixtures
from push_helpers import ROOT, env_for, make_world
from test_adopt_production import load_dump

from glue.db import adoption, migrations
from glue.run.cycle import STEPS
from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
ESCAPE = "\x1b["
MAIN = [sys.executable, "-c", "from glue.cli import main; main()"]


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra, "TERM": "xterm-256color"}
    for name in ("MOCKBOOK_SCHEMA_SOURCE", "NO_COLOR", "CI", "FORCE_COLOR", "COLUMNS"):
        env.pop(name, None)
    return env


def on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """``mockbook ARGS`` with stdin, stdout and stderr on a pseudo-terminal (160 columns): its
    exit code and all it wrote there."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    proc = subprocess.Popen(
        [*MAIN, *args], stdin=slave, stdout=slave, stderr=slave, env=_env(env), cwd=ROOT
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every holder of the terminal's other end is gone
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=600), b"".join(chunks).decode("utf-8", "replace")


def piped(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    done = subprocess.run(
        [*MAIN, *args], env=_env(env), cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    return done.returncode, done.stdout, done.stderr


def no_bar(output: str) -> bool:
    """No escape code and no progress line (``done/total`` and the time elapsed)."""
    return ESCAPE not in output and not re.search(r"\d+/\d+ +\d+:\d\d:\d\d", output)


def plain(output: str) -> str:
    """``output`` without its escape codes (colours, cursor moves) and carriage returns."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output).replace("\r", "\n")


def _bar(output: str, done: int) -> bool:
    """A rich bar was drawn, at ``done/done`` (complete)."""
    text = plain(output)
    return "━" in text and re.search(rf"(?<!\d){done}/{done}(?!\d)", text) is not None


def test_migrate_shows_its_steps_on_a_terminal_and_ends_with_a_summary(make_database) -> None:
    steps = len(migrations.steps(None))
    assert steps > 100  # the frozen files of the revisions, each a step
    code, out = on_a_terminal(["migrate"], {"DATABASE_URL": make_database("progress_tty")})
    assert code == 0, out
    assert _bar(out, steps), out[-3000:]
    assert "migrate " in out and ESCAPE in out
    summary = re.compile(
        rf": empty -> {migrations.head()} in \d+\.\d s \({steps} statement groups\)"
    )
    assert summary.search(plain(out)), out[-2000:]

    code, stdout, stderr = piped(["migrate"], {"DATABASE_URL": make_database("progress_pipe")})
    assert code == 0, stderr
    assert summary.search(stdout.strip().splitlines()[-1]), stdout
    assert no_bar(stdout + stderr), (stdout, stderr)


def test_migrate_check_shows_each_check_on_a_terminal_and_ends_with_a_summary(
    make_database,
) -> None:
    url = make_database("progress_check")
    load_dump(url)  # a production database, stamped at the baseline
    code, out = on_a_terminal(["migrate", "--check"], {"DATABASE_URL": url})
    assert code in (0, 1), out  # 1: rows the upgrade would refuse
    assert _bar(out, adoption.CHECKS), out[-3000:]
    summary = re.compile(rf"\d+ changes, \d+ rows? and \d+ objects? refused.*; {adoption.CHECKS}"
                         r" checks in \d+\.\d s")
    assert summary.search(plain(out)), out[-2000:]

    code, stdout, stderr = piped(["migrate", "--check"], {"DATABASE_URL": url})
    assert code in (0, 1), stderr
    assert summary.search(stdout.strip().splitlines()[-1]), stdout[-2000:]
    assert no_bar(stdout + stderr), (stdout, stderr)


def test_import_and_reconcile_show_each_object_type_on_a_terminal_and_end_with_a_summary(
    push_db: str, sandbox: Sandbox
) -> None:
    make_world(push_db, sandbox, students=3)
    env = env_for(push_db, sandbox)
    summaries = {
        "import": re.compile(r"^import done in \d+\.\d s: read exams \d+, contacts "
                             r"\d+, bookings \d+; \d+ not imported$", re.M),
        "reconcile": re.compile(r"^reconcile done in \d+\.\d s: compared .*bookings "
                                r"\d+.*; drift \d+$", re.M),
    }
    for command, summary in summaries.items():
        code, out = on_a_terminal([command], env)
        assert code in (0, 1), out
        # a bar per object type, each drawn to its end
        for name in ("exams", "contacts", "bookings"):
            bar = rf"{name} .*━.*(?<!\d)(\d+)/\1(?!\d)"
            assert re.search(bar, plain(out)), (command, name, out[-3000:])
        assert summary.search(plain(out)), (command, out[-2000:])

        code, stdout, stderr = piped([command], env)
        assert code in (0, 1), stderr
        assert summary.search(stdout), (command, stdout[-2000:])
        assert no_bar(stdout + stderr), (command, stdout, stderr)


def test_run_shows_its_steps_on_a_terminal_and_nothing_more_elsewhere(
    push_db: str, sandbox: Sandbox
) -> None:
    """`mockbook run` by hand: a bar of its steps on the terminal while they run, then its
    table; from cron (no terminal): the table alone, nothing in the mail but what it did."""
    world = make_world(push_db, sandbox, students=3)
    push_helpers.book(push_db, [(s, world.exams[0]) for s in world.students])
    env = env_for(push_db, sandbox)
    code, out = on_a_terminal(["run"], env)
    assert code in (0, 1), out  # 1: a record of the sandbox's world the pull does not apply
    assert _bar(out, len(STEPS)), out[-3000:]
    assert "mockbook run: push" in plain(out), out[-3000:]  # the step running, named

    code, stdout, stderr = piped(["run"], env)
    assert code in (0, 1), stderr
    assert "mockbook run:" in stdout  # the table's title
    assert no_bar(stdout + stderr) and "mockbook run: push" not in stdout + stderr, (
        stdout, stderr)


def test_the_first_install_says_what_it_does_and_when_it_is_done() -> None:
    """`make venv` (the first `make demo`'s install), as make would run it: a line before the
    install starts, and one when it ends."""
    done = subprocess.run(
        ["make", "--dry-run", "--always-make", "venv"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )
    lines = done.stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if "installing mockbook's dependencies" in line]
    ends = [i for i, line in enumerate(lines) if "dependencies installed in" in line]
    install = [i for i, line in enumerate(lines) if "pip install" in line]
    assert starts and ends and install, done.stdout
    assert starts[0] < install[0] <= install[-1] < ends[-1], done.stdout
