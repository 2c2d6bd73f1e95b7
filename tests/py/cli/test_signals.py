"""One lifecycle for every command (glue.lifecycle). Each command that runs longer than a moment
gets SIGTERM, SIGINT and SIGHUP, as real signals to a real `mockbook` subprocess, while it is
inside a wait that never ends by itself: a statement waiting for a lock this test holds, or a
HubSpot call the sandbox does not answer. It must end by itself all the same, with the
documented exit code (128 + the signal's number; 0 for a service), its own last line saying it
stopped, no outbox row left leased and no attempt counted. The waits outlast the command, so a
command that ended at all ended because of the signal: no timing is asserted (``BOUND`` only
stops a hung test). Within a few seconds is the design: the work in hand has
its grace (glue.lifecycle.GRACE_SECONDS, MOCKBOOK_STOP_GRACE_SECONDS), then its statement is
cancelled and its call left.

The commands are found by walking the click tree: a new command fails
test_every_command_is_classified until it has a scenario here or is listed in MOMENTS, with the
reason it ends by itself in a moment."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import psycopg
import push_helpers
import pytest
import sandbox_fixtures
from waiting import wait_until

from glue.cli import cli
from glue.sandbox import Sandbox

sandbox = sandbox_fixtures.sandbox

SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
BOUND = 60.0  # seconds: only stops a hung test (the waits below never end by themselves)
# the commands' grace (MOCKBOOK_STOP_GRACE_SECONDS): their work in hand never ends by itself here,
# so any grace runs out; the default's 2 s would only make each of these runs 1.8 s longer
GRACE = 0.2

# Commands that end by themselves in a moment (a signal meanwhile interrupts them as any other:
# glue.lifecycle.Interrupted), each with the reason.
MOMENTS = {
    "db lock": "pins one revision's files in db/migrations/revisions.lock: file work",
    "db release": "records a version in db/migrations/releases.json: file work",
    "db revision": "folds the db/ source files into a revision: file work, no server",
    "dlq discard": "one function call",
    "dlq list": "one query",
    "dlq retry": "one function call",
    "down": "pg_ctl stop of the embedded server",
    "up": "pg_ctl start of the embedded server, then it prints the URL",
    "webhooks check": "one HTTP request, bounded by its --timeout (5 s)",
    "webhooks subscriptions": "prints the subscriptions to create: no database, no network",
}

# the sandbox's paths of HubSpot calls a scenario leaves unanswered
READS = re.compile(r"/crm/v3/objects/[^/]+(/search|/batch/read)?$")
WRITES = re.compile(r"/crm/v3/objects/[^/]+/batch/(create|update|upsert)$")
EVERY = re.compile(r".")


def locking(table: str) -> str:
    return f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"


@dataclass(frozen=True)
class Scenario:
    """``command``: the command's path in the click tree. It waits in a statement blocked by
    ``lock`` (a statement this test runs in a transaction left open) or in a HubSpot call to a
    path ``hang`` matches, or, a service, is ready once ``ready`` is in its output. ``owner``:
    runs as the schema owner (else as the glue's login role); ``outbox``: bookings are queued
    first, and it leases them before it waits; ``prepare``: SQL run first, as the owner
    (``empty``: on a database never migrated); ``says`` and ``never``: what its output holds
    and never holds."""

    command: str
    args: tuple[str, ...]
    lock: str | None = None
    hang: re.Pattern[str] | None = None
    ready: str | None = None
    owner: bool = False
    outbox: bool = False
    empty: bool = False
    prepare: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    says: str | None = None  # in its output besides the last line
    never: str | None = None


SCENARIOS = {
    "adoption list": Scenario("adoption list", ("adoption", "list"),
                              lock=locking("hubspot_sync.hubspot_bookings"), owner=True),
    "adoption resolve": Scenario("adoption resolve", ("adoption", "resolve"),
                                 lock=locking("hubspot_sync.hubspot_bookings"), owner=True),
    "demo": Scenario("demo", ("demo",), lock=locking("hubspot_sync.hubspot_bookings"), owner=True),
    "hubspot setup": Scenario("hubspot setup", ("hubspot", "setup"), hang=EVERY),
    "import": Scenario("import", ("import",), hang=READS, says="import stopped",
                       never="import done"),
    "migrate": Scenario(
        "migrate", ("migrate",), lock=locking("mockbook.alembic_version"), owner=True, empty=True,
        prepare="CREATE SCHEMA mockbook; CREATE TABLE mockbook.alembic_version "
                "(version_num varchar(32) PRIMARY KEY)"),
    "notes": Scenario("notes", ("notes",), lock=locking("hubspot_sync.supabase_audit_log")),
    "pull": Scenario("pull", ("pull",), hang=READS),
    "push": Scenario("push", ("push",), hang=WRITES, outbox=True),
    # HubSpot answers, but the bookings' write-backs wait (reads pass an EXCLUSIVE lock): the
    # rows stay leased until the stop gives them back
    "push, its write-back waiting": Scenario(
        "push", ("push",), outbox=True,
        lock="LOCK TABLE hubspot_sync.hubspot_bookings IN EXCLUSIVE MODE"),
    "reconcile": Scenario("reconcile", ("reconcile",), hang=READS),
    "reconcile --repair": Scenario("reconcile", ("reconcile", "--repair"),
                                   lock=locking("hubspot_sync.hubspot_bookings")),
    "refresh-analytics": Scenario("refresh-analytics", ("refresh-analytics",),
                                  # a refresh of the test's own, not committed: it holds the
                                  # view's lock (a materialized view takes no LOCK TABLE)
                                  lock="REFRESH MATERIALIZED VIEW hubspot_sync.booking_analytics"),
    "run": Scenario("run", ("run",), hang=WRITES, outbox=True),
    "sandbox": Scenario("sandbox", ("sandbox", "--port", "0"), ready="listening on"),
    "status --check": Scenario("status", ("status", "--check"),
                               lock=locking("hubspot_sync.credit_ledger")),
    # its reads wait behind the lock (a key that names nothing still looks in every table)
    "trace": Scenario("trace", ("trace", "nobody@example.invalid"),
                      lock=locking("hubspot_sync.hubspot_bookings")),
    "webhooks serve": Scenario("webhooks serve", ("webhooks", "serve", "--port", "0"),
                               ready="listening on", env={"HUBSPOT_CLIENT_SECRET": "s3cret"}),
    "worker": Scenario("worker", ("worker",), hang=WRITES, outbox=True,
                       env={"MOCKBOOK_WORKER_PULL_SECONDS": "3600"}),
}
SERVICES = {"sandbox", "webhooks serve", "worker"}  # a signal is their normal end: exit 0


def commands(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    """Every command's path in the click tree (``webhooks serve``), groups walked."""
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, click.Context(command, parent=ctx, info_name=name), path)
        else:
            yield " ".join(path)


def test_every_command_is_classified() -> None:
    tree = set(commands(cli, click.Context(cli, info_name="mockbook")))
    scenarios = {s.command for s in SCENARIOS.values()}
    assert tree - scenarios - set(MOMENTS) == set(), (
        "commands without a signal scenario here nor a reason in MOMENTS")
    assert (scenarios | set(MOMENTS)) - tree == set(), "classified commands that do not exist"
    assert scenarios & set(MOMENTS) == set()


# ---- the waits that never end by themselves --------------------------------------------------
@contextmanager
def locked(url: str, statement: str) -> Iterator[Callable[[], bool]]:
    """``statement`` run in a transaction open until the block ends (the locks it took held);
    yields whether another session of the database waits for a lock."""
    with psycopg.connect(url) as holder:
        holder.execute(statement)
        try:
            yield lambda: bool(push_helpers.query(
                url, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = "
                     "current_database() AND wait_event_type = 'Lock'")[0]["n"])
        finally:
            holder.rollback()


@contextmanager
def unanswered(sb: Sandbox, paths: re.Pattern[str]) -> Iterator[Callable[[], bool]]:
    """The sandbox's calls to ``paths`` unanswered until the block ends; yields whether one
    came."""
    came, release = threading.Event(), threading.Event()

    def hold(method: str, path: str, status: int, body: Any) -> Any:
        if method in ("GET", "POST") and paths.search(path):
            came.set()
            release.wait()
        return body

    sb.faults.rewrite = hold
    try:
        yield came.is_set
    finally:
        release.set()
        sb.faults.rewrite = None


@contextmanager
def nothing() -> Iterator[Callable[[], bool]]:
    yield lambda: True


# ---- the command ------------------------------------------------------------------------------
@dataclass
class Running:
    proc: subprocess.Popen
    out: Path
    err: Path

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None


def start(args: tuple[str, ...], env: dict[str, str], tmp_path: Path) -> Running:
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    full = {**os.environ, **env}
    full.pop("MOCKBOOK_SCHEMA_SOURCE", None)
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from glue.cli import main; main()", *args],
            env=full, cwd=push_helpers.ROOT, stdout=stdout, stderr=stderr,
        )
    return Running(proc, out, err)


def outbox(url: str) -> dict[str, int]:
    return push_helpers.query(
        url, "SELECT count(*) FILTER (WHERE lease_owner IS NOT NULL) AS leased,"
             " coalesce(sum(attempts), 0) AS attempts FROM hubspot_sync.sync_queue"
             " WHERE done_at IS NULL AND dead_at IS NULL")[0]


# the sync's commands: their runs are in test_signals_sync.py, so that a parallel run shares
# this file's work out with that one's
SYNC = ("import", "notes", "pull", "push", "push, its write-back waiting", "run", "worker")


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - set(SYNC)))
def test_a_signal_stops_the_command(name: str, signum: signal.Signals, fresh_database: Any,
                                    sandbox: Sandbox, tmp_path: Path) -> None:
    signalled(name, signum, fresh_database, sandbox, tmp_path)


def signalled(name: str, signum: signal.Signals, fresh_database: Any, sandbox: Sandbox,
              tmp_path: Path) -> None:
    """Scenario ``name`` run, ``signum`` sent once it waits, and what must hold after it."""
    scenario = SCENARIOS[name]
    url = fresh_database("signals", migrated=not scenario.empty)
    if scenario.prepare:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(scenario.prepare)
    if scenario.outbox:
        world = push_helpers.make_world(url, sandbox, students=20)
        push_helpers.book(url, [(s, world.exams[0]) for s in world.students])
    # the HubSpot client's own timeout beyond the bound: an unanswered call ends by the stop only;
    # a short grace, as the waits here never end by themselves (the grace always runs out)
    env = push_helpers.env_for(url, sandbox, **scenario.env,
                               HUBSPOT_TIMEOUT_SECONDS=str(10 * BOUND),
                               MOCKBOOK_STOP_GRACE_SECONDS=str(GRACE))
    if scenario.owner:
        env["DATABASE_URL"] = url
    if scenario.lock:
        waiting = locked(url, scenario.lock)
    elif scenario.hang:
        waiting = unanswered(sandbox, scenario.hang)
    else:
        waiting = nothing()
    with waiting as waits:
        command = start(scenario.args, env, tmp_path)
        try:
            ready = scenario.ready
            wait_until(f"{name} inside its wait", lambda: not command.alive() or (
                waits() and (ready is None or ready in command.output())), timeout=BOUND)
            assert command.alive(), f"{name} ended before the signal:\n{command.output()}"
            if scenario.outbox:  # what it holds while it waits: given back at the stop
                assert outbox(url)["leased"] > 0
            command.proc.send_signal(signum)
            try:
                code = command.proc.wait(BOUND)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{name} did not stop on {signum.name}:\n{command.output()}")
        finally:
            if command.alive():
                command.proc.kill()
                command.proc.wait(10)
    err = command.err.read_text(errors="replace")
    assert "finishing the work in hand" not in err or f"(at most {GRACE:g} s)" in err, err
    expected = 0 if scenario.command in SERVICES else 128 + signum
    assert code == expected, command.output()
    assert f"mockbook {scenario.command}: stopped by {signum.name}" in err, command.output()
    assert "Traceback" not in err, err
    # a grace that ran out (a loaded machine) ends the work in hand before the command's own
    # summary: then the log's lines about the cut and the last line above say it
    cut = "at the end of the grace" in err or "the grace ended with" in err
    assert scenario.says is None or cut or scenario.says in command.output(), command.output()
    assert scenario.never is None or scenario.never not in command.output(), command.output()
    if not scenario.empty:  # no lease left, no attempt counted
        assert outbox(url) == {"leased": 0, "attempts": 0}, command.output()



@contextmanager
def silent_server() -> Iterator[tuple[int, threading.Event]]:
    """A TCP port that takes connections and never says a word (a database server that hangs
    before its greeting); yields the port and an event set once a connection came."""
    import socket

    came, held = threading.Event(), []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def accept() -> None:
            with contextlib.suppress(OSError):
                while True:
                    held.append(server.accept()[0])
                    came.set()

        threading.Thread(target=accept, daemon=True).start()
        try:
            yield server.getsockname()[1], came
        finally:
            for conn in held:
                conn.close()


@pytest.mark.parametrize("args", [("worker",), ("webhooks", "serve", "--port", "0")],
                         ids=lambda a: " ".join(a[:2]))
def test_a_service_stopped_before_it_is_up_ends_as_a_service(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    """SIGTERM while the service still connects to its database (a server that never answers
    its greeting): a service's normal end, exit 0, as once it is up (systemd records a clean
    stop)."""
    with silent_server() as (port, came):
        env = {"DATABASE_URL": f"postgresql://mockbook@127.0.0.1:{port}/mockbook",
               "HUBSPOT_ACCESS_TOKEN": "t", "HUBSPOT_CLIENT_SECRET": "s3cret"}
        command = start(args, env, tmp_path)
        try:
            wait_until("the service connecting", lambda: came.is_set() or not command.alive(),
                       timeout=BOUND)
            assert command.alive(), command.output()
            command.proc.send_signal(signal.SIGTERM)
            code = command.proc.wait(BOUND)
        finally:
            if command.alive():
                command.proc.kill()
                command.proc.wait(10)
    assert code == 0, command.output()
    assert "stopped by SIGTERM" in command.output() and "Traceback" not in command.output()


# A process whose main thread waits for a call (glue.lifecycle.bounded) that never answers; the
# signal is then delivered to the call's thread, as the kernel may deliver a signal sent to a
# process to any of its threads.
ANOTHER_THREAD = """
import sys, threading
from glue import lifecycle

with lifecycle.installed(), lifecycle.graceful():
    def call():
        print("waiting", threading.get_native_id(), flush=True)
        threading.Event().wait()
    try:
        lifecycle.bounded(call)
    except lifecycle.Abandoned:
        print("abandoned", flush=True)
        sys.exit(0)
"""
TGKILL = {"x86_64": 234, "aarch64": 131}  # the syscall that signals one thread of a process


@pytest.mark.parametrize("signum", SIGNALS, ids=[s.name for s in SIGNALS])
def test_a_signal_delivered_to_another_thread_ends_the_grace(signum: signal.Signals) -> None:
    """The Python handler runs only when the main thread runs Python code, and a main thread
    waiting for a HubSpot call is not woken by a signal the kernel delivered to another thread.
    The watcher hears of it all the same (the wakeup fd), so the call is abandoned when the
    grace ends; without it such a worker waited for its HubSpot call for ever."""
    import ctypes
    import platform

    proc = subprocess.Popen([sys.executable, "-c", ANOTHER_THREAD], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        word, thread = proc.stdout.readline().split()
        assert word == "waiting" and int(thread) != proc.pid
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.syscall(TGKILL[platform.machine()], proc.pid, int(thread), int(signum)) == 0
        out, _ = proc.communicate(timeout=BOUND)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "abandoned" in out and proc.returncode == 0, out


def test_a_call_after_the_grace_is_not_sent_and_the_log_says_so_once(caplog) -> None:
    """Work that goes on past the grace: each HubSpot call it tries is refused unsent
    (Abandoned), and the log says once that work in hand was left to the next run."""
    from glue.lifecycle import Abandoned, Lifecycle

    life, sent = Lifecycle(), []
    life.cut.set()
    with caplog.at_level("INFO", logger="glue.lifecycle"):
        for _ in range(3):
            with pytest.raises(Abandoned):
                life.bounded(sent.append, 1)
    said = [r.getMessage() for r in caplog.records if r.name == "glue.lifecycle"]
    assert sent == []
    assert said == ["the grace ended with work in hand: a HubSpot call not sent, what it was "
                    "for left to the next run"]


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan"])
def test_a_grace_that_is_not_a_positive_number_is_a_configuration_error(
        value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """MOCKBOOK_STOP_GRACE_SECONDS is read before the command runs: a bad value is one line
    naming it, exit 2, and nothing runs."""
    from glue.cli import main

    monkeypatch.setenv("MOCKBOOK_STOP_GRACE_SECONDS", value)
    with pytest.raises(SystemExit) as ended:
        main(["dlq", "list"])
    err = capsys.readouterr().err
    assert ended.value.code == 2 and "MOCKBOOK_STOP_GRACE_SECONDS" in err, err
    assert len(err.strip().splitlines()) == 1, err

