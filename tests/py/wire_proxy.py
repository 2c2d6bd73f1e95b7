"""A byte-rewriting HTTP proxy for the tests: it stands between the glue and the HubSpot sandbox
(glue/sandbox), forwards every request as it came, and hands the sandbox's answer back with its
body rewritten byte by byte by ``rewrite(method, path, status, body) -> body`` (None: as it is).
What the glue reads is then the bytes a broken proxy or a HubSpot bug could hand it, through the
glue's own HTTP client and decoder, not Python objects put in its place.

    with WireProxy(sandbox.base_url) as proxy:
        proxy.rewrite = lambda method, path, status, body: body.replace(b'"a"', b'"b"')
        ... HUBSPOT_BASE_URL=proxy.url ...

``restatus(method, path, status) -> (status, headers) | None`` answers with another status line
(and extra headers, such as ``Retry-After``) around the same body: a 429 where the sandbox
answered, as a busy portal would.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Rewrite = Callable[[str, str, int, bytes], bytes | None]
Restatus = Callable[[str, str, int], tuple[int, dict[str, str]] | None]
# headers of one hop, not forwarded (RFC 9110 7.6.1), and the length, set anew
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
        "upgrade", "content-length"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: WireProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        request = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        upstream = http.client.HTTPConnection(proxy.host, proxy.port, timeout=60)
        try:
            upstream.request(self.command, self.path, body=request, headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
            status, answer_headers = answer.status, answer.getheaders()
        finally:
            upstream.close()
        rewrite = proxy.rewrite
        if rewrite is not None and status != 204:
            changed = rewrite(self.command, self.path.split("?")[0], status, body)
            if changed is not None:
                proxy.rewritten += changed != body
                body = changed
        extra: dict[str, str] = {}
        restatus = proxy.restatus
        if restatus is not None:
            changed_status = restatus(self.command, self.path.split("?")[0], status)
            if changed_status is not None:
                status, extra = changed_status
        self.send_response(status)
        for key, value in answer_headers:
            if key.lower() not in _HOP and key not in extra:
                self.send_header(key, value)
        for key, value in extra.items():
            self.send_header(key, value)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204:
            self.wfile.write(body)

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET


class WireProxy:
    """The proxy on a free local port; ``url`` is the base URL to give the glue."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.rewrite: Rewrite | None = None
        self.rewritten = 0  # answers whose bytes a rewrite changed
        self.restatus: Restatus | None = None
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="wire-proxy",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> WireProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
