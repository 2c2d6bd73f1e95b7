"""One lifecycle for every `mockbook` process: what SIGTERM, SIGINT and SIGHUP do, the same in
every command (glue.cli.main installs it before the command runs; docs/operations.md, Signals):
the first signal stops the command, within GRACE_SECONDS the work in hand ends (its statement
cancelled, its HubSpot call left unanswered), and the process exits 128 + the signal's number
(0 for a service: `worker`, `webhooks serve`, `sandbox`), its last line saying so. The detail
follows the imports."""

from __future__ import annotations

import logging
import os
import select
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any, NoReturn, TypeVar

from glue import exitcodes
from glue.config import STOP_GRACE_SECONDS, variable_value
from glue.logs import fields

# How it works (the detail of the module docstring):
#
# - The first signal asks the command to stop. A command that stops at checkpoints of its own
#   (:func:`graceful`: push, notes, import, pull, run, worker, webhooks serve, sandbox) sees its
#   ``stop`` event set and ends the work in hand: the HubSpot call and its write-back, the page,
#   the batch; what it leased is given back, no attempt counted. Every other command is
#   interrupted where it stands (:class:`Interrupted`, a KeyboardInterrupt: psycopg cancels the
#   statement in hand, the transactions roll back).
# - ``GRACE_SECONDS`` after the signal (at once on a second one) what is still in hand is ended:
#   every statement still running on the process's connections (those :func:`track` was given:
#   the glue's pools and the run's and worker's connections) is cancelled, and so is any that
#   runs on them from then on; a HubSpot call still waiting for its answer (every call goes
#   through :func:`bounded`) is left unanswered (:class:`Abandoned`), and none is sent any more.
#   The log says what the grace cut, also when it was work that went on past it (the first
#   statement cancelled later, the first call not sent), so a run that left work says so.
#   So a command ends within a few seconds of the signal, whatever it was doing. What must still
#   be written then, the leases given back, is written on a connection of its own
#   (glue.db.database.Database.give_back_leases).
# - A wait for a database connection (glue.db.connection: a new one the server or a pooler has
#   not served yet, one of a pool's) has nothing in hand: there is no statement to cancel (a
#   session pooler with every server connection taken keeps a new client waiting before it
#   reaches a server) and nothing to finish. Such waits run in :func:`connection_wait` and look
#   at :func:`connection_waits_end` each time they wake (a tenth of a second at most): they end
#   at the stop in a command that does not stop at checkpoints, and when the grace ends in one
#   that does. In the main thread of the former the signal does not interrupt the wait (psycopg
#   would send a cancel that reaches no server, then wait for it): the wait ends itself, and
#   :class:`Interrupted` is raised as it is left.
# - SIGHUP is SIGTERM for every command: none reloads its configuration (read once, at start).
# - The exit code (:meth:`Lifecycle.exit_code`): 128 + the signal's number (130 SIGINT, 143
#   SIGTERM, 129 SIGHUP), as a shell reports a process a signal ended; 0 for a service, whose
#   normal end a signal is. The last line on stderr says so: ``mockbook push: stopped by
#   SIGTERM``; then the process exits at once, not waiting for threads still blocked on the
#   network (the command's own cleanup gave its leases back and ended its transactions).
# - The signal handler only records the signal and writes its number to a pipe (no lock is
#   taken in it: a handler runs between two bytecodes of the main thread, which may hold any
#   lock); a watcher thread sets ``stop``, logs, and ends the grace.

T = TypeVar("T")
log = logging.getLogger("glue.lifecycle")

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# seconds the work in hand has after a signal (a HubSpot call, its write-back), before it is
# cancelled: a HubSpot call answers in well under a second, a write-back in milliseconds
# (MOCKBOOK_STOP_GRACE_SECONDS sets another: :func:`grace_seconds`)
GRACE_SECONDS = STOP_GRACE_SECONDS.default
CANCEL_EVERY = 0.25  # seconds: after the grace, how often a statement still running is cancelled
_QUIT = 0  # the byte that ends the watcher (no signal has number 0)


def grace_seconds() -> float:
    """MOCKBOOK_STOP_GRACE_SECONDS (a positive number of seconds; unset: GRACE_SECONDS), or
    ConfigError."""
    raw = os.environ.get("MOCKBOOK_STOP_GRACE_SECONDS", "").strip()
    return variable_value(STOP_GRACE_SECONDS, raw) if raw else GRACE_SECONDS


def configure() -> None:
    """The process's lifecycle takes its grace from the environment (glue.cli.main, before the
    command: a bad value is a configuration error, exit 2)."""
    if _current is not None:
        _current.grace = grace_seconds()


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread of a command that does not stop at checkpoints of its own.
    A KeyboardInterrupt, so that psycopg cancels the statement in hand as it does on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Abandoned(Exception):
    """A call still unanswered when the stop's grace ended: left to its thread, which ends
    with the process."""


class _Call:
    """One call run in a thread of its own, so that its caller can stop waiting for it."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.done = threading.Event()  # answered, or the grace ended
        self.finished = False
        self.value: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # handed to the caller
            self.error = exc
        finally:
            self.finished = True
            self.done.set()

    def outcome(self) -> Any:
        if not self.finished:
            raise Abandoned("no answer within the stop's grace")
        if self.error is not None:
            raise self.error
        return self.value


class Lifecycle:
    """The signals of one command's process. ``stop``: set by the first signal; ``cut``: set
    when the grace is over; ``signum``: the first signal's number."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.cut = threading.Event()
        self.signum: int | None = None
        self.command = "mockbook"
        self.grace = GRACE_SECONDS  # seconds the work in hand has after the first signal
        self.graceful = False  # the command stops at its own checkpoints (:func:`graceful`)
        self.service = False  # a signal is its normal end: exit 0
        self._raised = False
        # the log has said that the grace cut a statement, a call not sent (each said once)
        self._said_cancel = False
        self._said_unsent = False
        self._lock = threading.Lock()
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._connection_waits: dict[int, int] = {}  # thread ident -> waits it is in
        self._calls: set[threading.Event] = set()
        self._previous: dict[int, Any] = {}
        self._pipe: tuple[int, int] | None = None
        self._previous_wakeup = -1
        self._watcher: threading.Thread | None = None

    # ---- signals -----------------------------------------------------------------------------
    def install(self) -> None:
        """Handle the signals (only the main thread may: elsewhere, nothing is installed)."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._pipe = os.pipe()
        os.set_blocking(self._pipe[1], False)
        self._watcher = threading.Thread(target=self._watch, name="mockbook-signals",
                                         daemon=True)
        self._watcher.start()
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        # The signal's number reaches the watcher from C, whichever thread the kernel delivered
        # it to: the Python handler runs only when the main thread runs Python code, and a main
        # thread blocked in a wait (a HubSpot call, bounded below) is not woken by a signal
        # delivered to another thread, so the grace would never start.
        self._previous_wakeup = signal.set_wakeup_fd(self._pipe[1], warn_on_full_buffer=False)

    def uninstall(self) -> None:
        if self._pipe is not None:
            signal.set_wakeup_fd(self._previous_wakeup)
        for sig, old in self._previous.items():
            signal.signal(sig, old)
        self._previous.clear()
        if self._pipe is not None and self._watcher is not None:
            os.write(self._pipe[1], bytes([_QUIT]))
            self._watcher.join(5.0)
            if not self._watcher.is_alive():
                for fd in self._pipe:
                    os.close(fd)
            self._pipe = None

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
            self.command = _command_path()
        if self._pipe is not None:
            # the watcher got the number through the wakeup fd, unless other code (an event loop
            # in the main thread) has taken the wakeup fd since: then it is written here
            current = signal.set_wakeup_fd(self._pipe[1], warn_on_full_buffer=False)
            if current != self._pipe[1]:
                signal.set_wakeup_fd(current)
                os.write(self._pipe[1], bytes([signum]))
        # (the handler runs in the main thread: its connection wait ends itself, then raises)
        if not self.graceful and not self._raised and \
                not self._connection_waits.get(threading.get_ident()):
            self._raised = True
            raise Interrupted(signum)

    def _watch(self) -> None:
        assert self._pipe is not None
        readable, deadline = self._pipe[0], float("inf")
        while True:
            wait = CANCEL_EVERY if self.cut.is_set() else deadline - time.monotonic()
            if not select.select([readable], [], [], None if wait == float("inf") else
                                 max(wait, 0.0))[0]:
                self._end_grace()
                continue
            byte = os.read(readable, 1)
            if not byte or byte[0] == _QUIT:
                return
            if byte[0] not in SIGNALS:  # another handled signal's wakeup byte: not a stop
                continue
            if not self.stop.is_set():
                self.stop.set()
                deadline = time.monotonic() + self.grace
                name = signal.Signals(byte[0]).name
                log.info("%s received: %s", name,
                         f"finishing the work in hand (at most {self.grace:g} s), then stopping"
                         if self.graceful else "stopping", extra=fields(event="signal",
                                                                        signal=name))
            else:  # a second signal: no more grace
                self._end_grace()

    def _end_grace(self) -> None:
        """Wake every caller of :meth:`bounded`, and cancel every statement running on the
        connections of the command (then again every CANCEL_EVERY seconds, until the process
        ends: a statement started after the grace, a write-back queued behind the cancelled
        one, would wait as long)."""
        from psycopg.pq import TransactionStatus

        first = not self.cut.is_set()
        self.cut.set()
        with self._lock:
            calls, connections = list(self._calls), list(self._connections)
        unanswered = sum(1 for done in calls if not done.is_set())
        for done in calls:
            done.set()
        if first and unanswered:
            # what they would have brought is read again by the next run
            log.info("the grace ended with %d HubSpot call(s) unanswered: left unapplied",
                     unanswered, extra=fields(event="abandon", calls=unanswered))
        for conn in connections:
            try:
                if not conn.closed and conn.pgconn.transaction_status == TransactionStatus.ACTIVE:
                    conn.cancel_safe(timeout=2.0)
                    # said at the grace's end, or at the first statement cut after it (one
                    # started when none ran at the end): work in hand was cut all the same
                    log.log(logging.INFO if first or not self._said_cancel else logging.DEBUG,
                            "cancelled a statement still running at the end of the grace",
                            extra=fields(event="cancel"))
                    self._said_cancel = True
            except Exception as exc:  # closed meanwhile, or the server away: nothing to cancel
                log.debug("cancelling a statement at stop: %s", exc)

    # ---- waits for a database connection ------------------------------------------------------
    def waits_end(self) -> bool:
        """A wait for a database connection ends now: the grace is over, or a signal came to a
        command that does not finish work in hand."""
        return self.cut.is_set() or (not self.graceful and (self.signum is not None
                                                             or self.stop.is_set()))

    @contextmanager
    def connection_wait(self) -> Iterator[None]:
        ident = threading.get_ident()
        with self._lock:
            self._connection_waits[ident] = self._connection_waits.get(ident, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                depth = self._connection_waits.pop(ident) - 1
                if depth:
                    self._connection_waits[ident] = depth
            if (not depth and threading.current_thread() is threading.main_thread()
                    and self.signum is not None and not self.graceful and not self._raised):
                self._raised = True  # the interruption the signal's handler left to the wait
                raise Interrupted(self.signum)

    # ---- what the command holds ---------------------------------------------------------------
    def track(self, conn: Any) -> None:
        with self._lock:
            self._connections.add(conn)

    def bounded(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        call = _Call(fn, args, kwargs)
        with self._lock:
            refused = self.cut.is_set()
            first_refused = refused and not self._said_unsent
            if refused:
                self._said_unsent = True
            else:
                self._calls.add(call.done)
        if refused:
            if first_refused:  # what the call was for is left undone: the log says so, once
                log.info("the grace ended with work in hand: a HubSpot call not sent, what it "
                         "was for left to the next run", extra=fields(event="unsent"))
            raise Abandoned("the stop's grace is over: not sent")
        try:
            threading.Thread(target=call.run, name="mockbook-call", daemon=True).start()
            call.done.wait()
        finally:
            with self._lock:
                self._calls.discard(call.done)
        return call.outcome()

    # ---- the end -----------------------------------------------------------------------------
    @property
    def signal_name(self) -> str | None:
        """The first signal's name (``SIGTERM``), None before any."""
        return None if self.signum is None else signal.Signals(self.signum).name

    def exit_code(self, own: int) -> int:
        """The exit code of a command a signal stopped, whose own code was ``own``."""
        assert self.signum is not None
        return own if self.service else exitcodes.stopped_by(self.signum)

    def leave(self, exc: BaseException) -> NoReturn:
        """End a process a signal stopped (``exc``: how the command ended): one line saying so,
        then exit at once, not waiting for threads still blocked on the network (every lease
        was given back and every transaction ended by the command's own cleanup)."""
        own = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 0
        if not isinstance(exc, SystemExit | KeyboardInterrupt):
            log.debug("ended by %s after the signal: %s", type(exc).__name__, exc)
        code = self.exit_code(own)
        with suppress(OSError, ValueError):
            sys.stderr.write(f"{self.command}: stopped by {self.signal_name}\n")
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


def _command_path() -> str:
    """The command running now (``mockbook webhooks serve``), as click names it."""
    import click

    ctx = click.get_current_context(silent=True)
    return ctx.command_path if ctx is not None else "mockbook"


# ---- the process's lifecycle ---------------------------------------------------------------------
_current: Lifecycle | None = None


def current() -> Lifecycle | None:
    return _current


def stopping() -> bool:
    """A signal asked this process to stop."""
    return _current is not None and _current.signum is not None


@contextmanager
def installed() -> Iterator[Lifecycle]:
    """The process's lifecycle for the duration of one command (glue.cli.main)."""
    global _current
    outer, process = _current, Lifecycle()
    process.install()
    _current = process
    try:
        yield process
    finally:
        _current = outer
        process.uninstall()


@contextmanager
def graceful(*, service: bool = False) -> Iterator[threading.Event]:
    """Within it, the command stops at checkpoints of its own: the first signal sets the event
    it yields (the HubSpot client, the push, the pull, the notes and the worker look at it)
    instead of interrupting. ``service``: a signal is the command's normal end (exit 0). Outside
    glue.cli.main (a command invoked by a test) it installs a lifecycle of its own."""
    if _current is None:
        with installed(), graceful(service=service) as stop:
            yield stop
        return
    process, was = _current, _current.graceful
    process.graceful = True
    process.service = process.service or service
    try:
        yield process.stop
    finally:
        process.graceful = was


@contextmanager
def connection_wait() -> Iterator[None]:
    """Around a wait for a database connection (glue.db.connection), which looks at
    :func:`connection_waits_end` whenever it wakes."""
    if _current is None:
        yield
        return
    with _current.connection_wait():
        yield


def connection_waits_end() -> bool:
    """A wait for a database connection ends now (the module's comment, after the imports)."""
    return _current is not None and _current.waits_end()


def track(conn: T) -> T:
    """Cancel ``conn``'s statement in hand when the stop's grace ends (a psycopg connection)."""
    if _current is not None:
        _current.track(conn)
    return conn


def bounded(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``; under a lifecycle, run in a thread of its own and waited for
    until it returns or the stop's grace ends (:class:`Abandoned`)."""
    if _current is None:
        return fn(*args, **kwargs)
    return _current.bounded(fn, *args, **kwargs)
