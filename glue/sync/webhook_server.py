"""The webhook intake's HTTP server: uvicorn's HTTP/1.1 protocol behind an accept loop of its own,
so that slow or too many clients cannot take the intake down. One event loop serves every
connection (no thread or slot per connection). A client must send a request's head within the
header timeout and its body within the read timeout, else it is disconnected; at the connection
limit the connection that has waited longest without a request in progress (idle, or still
sending its head) is closed to make room for the new one, and a new one is refused only when
every open connection has a request in progress; out of file descriptors, the loop pauses
instead of retrying accept() in a spin. Each such condition is logged at most once per
interval, with how often it happened (:class:`Occasional`). At start the process's open-files
limit is raised (up to its hard limit) to what the connection limit needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import resource
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from glue.config import ConfigError, Settings
from glue.logs import fields

log = logging.getLogger("glue.sync.webhooks")

# Why asyncio's own accept loop is not used: on EMFILE it logs, unregisters the socket and
# schedules a retry, but goes on calling accept() up to `backlog` times in the same pass, each
# failing, logged and scheduling one more retry (CPython's selector_events._accept_connection):
# with uvicorn's backlog of 2048 a full descriptor table logged "socket.accept() out of system
# resource" hundreds of thousands of times a minute while the slow connections stayed open.
ACCEPT_PAUSE_SECONDS = 0.5  # out of descriptors: accept() again after this
FD_RESERVE = 64  # descriptors kept for the database pools, Redis, HubSpot calls and the logs
LOG_INTERVAL_SECONDS = 60.0
HEADER_TIMEOUT = Settings.webhooks_header_timeout_seconds
READ_TIMEOUT = Settings.webhooks_read_timeout_seconds
MAX_CONNECTIONS = Settings.webhooks_max_connections
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class Occasional:
    """A warning that may happen many times a second, logged at most once per ``interval``
    seconds with the number of times it happened since it was last logged; ``flush()`` logs
    what is left (at shutdown)."""

    def __init__(
        self,
        message: str,
        event: str,
        *,
        interval: float = LOG_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.message, self.event, self.interval, self.clock = message, event, interval, clock
        self.total = 0
        self._pending = 0
        self._since: float | None = None
        self._logged_at: float | None = None
        self._lock = threading.Lock()

    def note(self) -> None:
        with self._lock:
            now = self.clock()
            self.total += 1
            self._pending += 1
            if self._since is None:
                self._since = now
            if self._logged_at is None or now - self._logged_at >= self.interval:
                self._log(now)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._log(self.clock())

    def _log(self, now: float) -> None:
        seconds = now - (self._since if self._since is not None else now)
        log.warning(
            "%s: %d time(s) in the last %.0f s",
            self.message,
            self._pending,
            seconds,
            extra=fields(event=self.event, count=self._pending, seconds=round(seconds, 1)),
        )
        self._pending, self._since, self._logged_at = 0, None, now


@dataclass
class Guard:
    """The limits of one server, and its occasional warnings."""

    header_timeout: float = HEADER_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    max_connections: int = MAX_CONNECTIONS
    log_interval: float = LOG_INTERVAL_SECONDS
    late: Occasional = field(init=False)
    refused: Occasional = field(init=False)
    shed: Occasional = field(init=False)
    exhausted: Occasional = field(init=False)
    # the open connections, the one without a request in progress for longest first (each
    # moved to the end when it starts to wait again): what the limit closes first
    waiting: OrderedDict[GuardedH11, None] = field(init=False, default_factory=OrderedDict)

    def __post_init__(self) -> None:
        every = {"interval": self.log_interval}
        self.late = Occasional(
            f"webhook intake: closed a connection that did not send its request's head within "
            f"{self.header_timeout:g} s or its body within {self.read_timeout:g} s",
            "webhook_slow_client",
            **every,
        )
        self.refused = Occasional(
            f"webhook intake: refused a connection over the limit of {self.max_connections} "
            "open, every one of them with a request in progress "
            "(MOCKBOOK_WEBHOOKS_MAX_CONNECTIONS)",
            "webhook_connection_refused",
            **every,
        )
        self.shed = Occasional(
            f"webhook intake: {self.max_connections} connections open "
            "(MOCKBOOK_WEBHOOKS_MAX_CONNECTIONS): closed the one idle or sending its request's "
            "head for longest, to accept a new one",
            "webhook_connection_shed",
            **every,
        )
        self.exhausted = Occasional(
            "webhook intake: cannot accept a connection, out of file descriptors (raise "
            "LimitNOFILE or lower MOCKBOOK_WEBHOOKS_MAX_CONNECTIONS); accepting again in "
            f"{ACCEPT_PAUSE_SECONDS:g} s",
            "webhook_accept_failed",
            **every,
        )

    def flush(self) -> None:
        for warning in (self.late, self.refused, self.shed, self.exhausted):
            warning.flush()


class GuardedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline on what the client owes: a request's head
    within ``header_timeout`` of the connection (or of the first byte of a request on a kept-alive
    one), its body within ``read_timeout`` of the head. The deadline is set when the client starts
    to owe a part and not moved by the bytes that trickle in, so sending one byte a second does
    not keep a connection. A late client is disconnected. An idle kept-alive connection is
    uvicorn's (``timeout_keep_alive``). It is in :attr:`Guard.waiting` while open, moved to its
    end when it starts to wait for a request (its start, each response sent)."""

    def __init__(self, guard: Guard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = guard
        self._owed: str | None = None  # "head" | "body" | None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._guard.waiting[self] = None
        self._owe("head")

    @property
    def between_requests(self) -> bool:
        """No request in progress: nothing of one received yet, or only part of its head (a
        request whose head is in is being read or answered)."""
        return (
            self.conn.our_state is h11.IDLE
            and self.conn.their_state is h11.IDLE
            and not self.transport.is_closing()
        )

    def shed(self) -> None:
        """Closed to make room for a new connection."""
        self._owe(None)
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self in self._guard.waiting:
            self._guard.waiting.move_to_end(self)
        self._track()  # a pipelined request may have begun

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.waiting.pop(self, None)
        self._owe(None)
        super().connection_lost(exc)

    def _track(self) -> None:
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._owe("body")
        elif state is h11.IDLE and self.conn.trailing_data[0]:
            self._owe("head")  # part of a request's head is in
        elif state is h11.IDLE and self._owed == "head":
            pass  # nothing of a request yet: a new connection's deadline runs from its start
        else:
            self._owe(None)  # a complete request, or an idle kept-alive connection

    def _owe(self, part: str | None) -> None:
        if part == self._owed:
            return
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._owed = part
        if part is not None:
            delay = self._guard.header_timeout if part == "head" else self._guard.read_timeout
            self._deadline = self.loop.call_later(delay, self._late)

    def _late(self) -> None:
        self._deadline = None
        self._owed = None
        if not self.transport.is_closing():
            self._guard.late.note()
            self.transport.close()


class _Server(uvicorn.Server):
    """uvicorn's server without its asyncio listener: :meth:`_accept` accepts the connections."""

    def __init__(self, config: uvicorn.Config, listener: socket.socket, guard: Guard) -> None:
        super().__init__(config)
        self._listener = listener
        self._guard = guard
        self._accepting: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # no listener of uvicorn's
        self._accepting = asyncio.get_running_loop().create_task(self._accept())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        self._listener.close()
        await super().shutdown(sockets=None)
        self._guard.flush()

    def shed_one(self) -> bool:
        """Close the connection that has waited longest without a request in progress (idle,
        or trickling its head in): False when every open one has a request in progress. A
        delivery's head arrives at once, so a slow or idle client is closed first; the
        connection's descriptor is freed as the loop goes on (one over the limit meanwhile).
        The connections are kept in the order they began to wait (:attr:`Guard.waiting`): the
        first one between requests is the one, found without a scan of them all."""
        for protocol in self._guard.waiting:
            if protocol.between_requests:
                protocol.shed()
                return True
        return False

    def _protocol(self) -> GuardedH11:
        return GuardedH11(
            self._guard,
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _addr = await loop.sock_accept(self._listener)
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    log.warning("webhook intake: accept() failed: %s", exc)
                else:
                    self._guard.exhausted.note()
                # the kernel keeps new connections queued meanwhile (the listen backlog)
                await asyncio.sleep(ACCEPT_PAUSE_SECONDS)
                continue
            if len(self.server_state.connections) >= self._guard.max_connections:
                if not self.shed_one():
                    conn.close()
                    self._guard.refused.note()
                    continue
                self._guard.shed.note()
            try:
                await loop.connect_accepted_socket(self._protocol, conn)
            except OSError:
                conn.close()


def raise_open_files_limit(needed: int) -> int:
    """Raise the process's soft open-files limit to ``needed`` where it is lower, up to the hard
    limit (which only root may raise); the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return soft
    target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    if target <= soft:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):  # a hard limit above the kernel's nr_open
        return soft
    return target


def usable_connections(limit: int, reserve: int = FD_RESERVE) -> int:
    """``limit``, with the open-files limit raised to hold it (:func:`raise_open_files_limit`),
    else lowered (with a warning) to what that limit leaves after ``reserve`` descriptors:
    accepting more than that would fail with EMFILE."""
    soft = raise_open_files_limit(limit + reserve)
    if soft == resource.RLIM_INFINITY or limit <= soft - reserve:
        return limit
    usable = max(1, soft - reserve)
    log.warning(
        "webhook intake: MOCKBOOK_WEBHOOKS_MAX_CONNECTIONS=%d lowered to %d: the open-files limit "
        "is %d (systemd: LimitNOFILE=)",
        limit,
        usable,
        soft,
    )
    return usable


class HttpServer:
    """An ASGI app served in a background thread (``start()`` -> the bound port, ``stop()``):
    the intake alone (``mockbook webhooks serve``) or beside the worker."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        header_timeout: float = HEADER_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        log_interval: float = LOG_INTERVAL_SECONDS,
    ) -> None:
        self.host = host
        self.port = port
        self._app = app
        self._limits = (header_timeout, read_timeout, max_connections, log_interval)
        self.guard: Guard | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(2048)
        except OSError as exc:
            sock.close()
            raise ConfigError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        header_timeout, read_timeout, max_connections, log_interval = self._limits
        self.guard = Guard(
            header_timeout, read_timeout, usable_connections(max_connections), log_interval
        )
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=30,
            http="h11",
        )
        self._server = _Server(config, sock, self.guard)
        # Not the main thread: uvicorn installs no signal handlers; the caller owns SIGTERM.
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve()),  # type: ignore[union-attr]
            name=f"mockbook-webhooks-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                raise RuntimeError("the webhook server did not start within 10 s")
            time.sleep(0.01)
        return self.port

    @property
    def open_connections(self) -> int:
        """The connections open now (each holds a file descriptor)."""
        return len(self._server.server_state.connections) if self._server is not None else 0

    @property
    def waiting_connections(self) -> int:
        """The open connections without a request in progress (idle, or sending a head)."""
        if self._server is None:
            return 0
        return sum(
            1
            for protocol in list(self._server.server_state.connections)
            if isinstance(protocol, GuardedH11) and protocol.between_requests
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
