"""The sandbox's HTTP layer: a stdlib ``ThreadingHTTPServer`` whose handler hands each request
to its :class:`~glue.sandbox.sandbox.Sandbox`, and :func:`serve` for ``mockbook sandbox``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sandbox import Sandbox

log = logging.getLogger("glue.sandbox")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: Sandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 60  # idle keep-alive connections are closed after a minute

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def setup(self) -> None:
        super().setup()
        self.server.sandbox._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox._track(self.connection, add=False)

    def do_GET(self) -> None:
        self.server.sandbox._exchange(self)

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def drop(self) -> None:
        """Close the connection without any answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def answer(self, status: int, body: Any, headers: dict[str, str]) -> None:
        # bytes: sent as they are (a rewrite standing for a proxy's page or a truncated body)
        if isinstance(body, bytes):
            data = body
        else:
            data = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if status != 204:
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 204:
            self.wfile.write(data)


def serve(
    port: int, host: str = "127.0.0.1", *, stop: threading.Event | None = None, **options: Any
) -> None:
    """Run a sandbox in the foreground until ``stop`` is set (``mockbook sandbox``: SIGTERM,
    SIGINT or SIGHUP, glue.lifecycle), else until SIGINT/SIGTERM.

    ``options`` are :class:`Sandbox` keyword arguments; ``conformance`` defaults to False here.
    ``webhook_url`` and ``webhook_secret``: also send webhooks there (glue/sandbox/webhooks.py).
    """
    options.setdefault("conformance", False)
    webhook_url = options.pop("webhook_url", None)
    webhook_secret = options.pop("webhook_secret", None)
    from .sandbox import Sandbox
    from .webhooks import attach

    sandbox = Sandbox(port, host=host, **options)
    done = stop or threading.Event()
    if stop is None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: done.set())
    sandbox.start()
    sender = attach(sandbox, webhook_url, webhook_secret or "") if webhook_url else None
    print(f"HubSpot sandbox listening on {sandbox.base_url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if sender is not None:
            sender.stop()
        sandbox.stop()
