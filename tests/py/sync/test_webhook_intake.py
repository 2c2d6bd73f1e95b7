"""The webhook intake under what a public endpoint meets: slow clients (closed after the header or
read timeout, while valid deliveries still land), thousands of idle and slow connections (every
delivery accepted and applied), more connections than its limit (the one idle longest makes room;
refused only when all have a request in progress; logged once per interval with a count), a
process out of file descriptors (accept pauses, no log flood), a database gone (503 at once,
/healthz says so, back when the database is), `mockbook webhooks check` proving the public URL
and the signature match, one test per outcome, and a delivery through the documented reverse
proxy.

The timeouts are short here so that the slow clients are closed soon; nothing is asserted about
how long anything took (socket timeouts and ``wait_until`` only stop a test that would hang).
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import logging
import re
import select
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import push_helpers
import pytest
import sandbox_fixtures
import urllib3
from pull_helpers import exam, fast, hubspot, open_db, q, seed_exams
from waiting import wait_until

from glue.db.database import Database
from glue.logs import FIELDS
from glue.sandbox import EXAMS, Sandbox
from glue.sync.pull import pull
from glue.sync.webhook_check import check_intake
from glue.sync.webhook_server import HttpServer, Occasional, raise_open_files_limit
from glue.sync.webhook_store import CONNECT_TIMEOUT_SECONDS, STORE_WAIT_SECONDS
from glue.sync.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    EventStore,
    WebhookConfig,
    WebhookService,
    build_app,
    sign_v3,
)

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
SECRET = "client-secret-for-tests"
PATH = "/webhooks/hubspot"
HTTP = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=10))
HEAD = b"POST /webhooks/hubspot HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def event(event_id: int, object_id: int) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "subscriptionId": 5,
        "portalId": 4242424,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "object.propertyChange",
        "objectTypeId": EXAMS,
        "objectId": object_id,
        "propertyName": "capacity",
        "propertyValue": "9",
    }


def post(url: str, events: list[dict[str, Any]], **kwargs: Any) -> urllib3.BaseHTTPResponse:
    """A delivery signed as HubSpot signs it, for ``url``."""
    body = json.dumps(events).encode()
    ts = str(int(time.time() * 1000))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign_v3(SECRET, "POST", url, body, ts),
        TIMESTAMP_HEADER: ts,
    }
    return HTTP.request("POST", url, body=body, headers=headers, **kwargs)


def delivered(url: str, events: list[dict[str, Any]]) -> bool:
    """One attempt, as HubSpot makes them: True when answered 200 (a refused or reset
    connection, or any other answer, is a failed attempt HubSpot would retry)."""
    try:
        return post(url, events).status == 200
    except urllib3.exceptions.HTTPError:
        return False


def client(port: int, sent: bytes = b"") -> socket.socket:
    """A connection that sends ``sent`` (a part of a request, or nothing) and then stalls."""
    sock = socket.create_connection(("127.0.0.1", port))
    if sent:
        sock.sendall(sent)
    return sock


def closed_by_the_intake(sock: socket.socket) -> bool:
    """Reads until the intake closes the connection; the socket timeout only ends a wait that
    would otherwise never end (the intake never closing it)."""
    sock.settimeout(60)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def trickled_until_closed(sock: socket.socket, data: bytes, pause: float) -> bool:
    """Sends ``data`` one byte every ``pause`` seconds, until the intake closes the connection
    (True) or all of it was sent (False)."""
    for i in range(len(data)):
        readable, _, _ = select.select([sock], [], [], 0)
        try:
            if readable and sock.recv(1) == b"":
                return True
            sock.send(data[i : i + 1])
        except OSError:
            return True
        time.sleep(pause)  # the slow client is the scenario, not a wait for a condition
    return False


def stored_ids(url: str) -> list[int]:
    return [r["event_id"] for r in q(url, "SELECT event_id FROM hubspot_sync.webhook_events")]


def warnings_of(caplog: pytest.LogCaptureFixture, event_name: str) -> list[dict[str, Any]]:
    return [
        getattr(r, FIELDS)
        for r in caplog.records
        if getattr(r, FIELDS, {}).get("event") == event_name
    ]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- slow clients and the connection limit ------------------------------------------------------
def test_slow_clients_are_closed_after_the_timeouts_and_valid_deliveries_still_land(
    push_db: str,
) -> None:
    db = Database(push_db)
    app = build_app(WebhookConfig(secret=SECRET), EventStore(db).store)
    server = HttpServer(app, header_timeout=1.0, read_timeout=1.0, max_connections=200)
    port = server.start()
    url = f"http://127.0.0.1:{port}{PATH}"
    slow: list[socket.socket] = []
    try:
        slow += [client(port) for _ in range(20)]  # connect, send nothing
        slow += [client(port, HEAD + b"Content-Le") for _ in range(20)]  # half a head
        slow += [client(port, HEAD + b"Content-Length: 400\r\n\r\n[{") for _ in range(20)]
        # the deliveries HubSpot sends meanwhile are stored
        assert [post(url, [event(i, 500 + i)]).status for i in range(1, 6)] == [200] * 5
        assert sorted(stored_ids(push_db)) == [1, 2, 3, 4, 5]
        # and every slow client is disconnected by the intake, for being late
        assert all(closed_by_the_intake(sock) for sock in slow)
        assert server.guard is not None and server.guard.late.total == 60
        # the deadline is not moved by bytes trickling in: one byte every 50 ms, for 20 s at
        # most, is closed too (after the 1 s header timeout)
        trickle = client(port, b"P")
        slow.append(trickle)
        assert trickled_until_closed(trickle, HEAD[1:] + b"X-Pad: " + b"a" * 400, 0.05)
        assert post(url, [event(6, 506)]).status == 200
    finally:
        for sock in slow:
            sock.close()
        server.stop()
        db.close()


def still_open(sock: socket.socket) -> bool:
    """Nothing to read and no end of stream: the intake has not closed it (yet)."""
    try:
        sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except OSError:  # reset
        return False
    return False  # an end of stream (or an answer, which none of these clients is owed)


def test_at_the_limit_the_connection_idle_longest_makes_room_for_a_new_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stored: list[dict[str, Any]] = []

    def store(events: list[dict[str, Any]]) -> dict[str, int]:
        stored.extend(events)
        return {"stored": len(events), "duplicates": 0}

    app = build_app(WebhookConfig(secret=SECRET), store)
    server = HttpServer(app, header_timeout=600, read_timeout=600, max_connections=5)
    port = server.start()
    url = f"http://127.0.0.1:{port}{PATH}"
    held: list[socket.socket] = []
    try:
        with caplog.at_level(logging.WARNING, logger="glue.sync.webhooks"):
            held = [client(port) for _ in range(5)]  # idle: nothing sent
            wait_until("the five held", lambda: server.open_connections == 5)
            guard = server.guard
            assert guard is not None
            for i in range(15):  # one at a time: each closes the oldest of those before it
                held.append(client(port, HEAD[:10]))  # a head begun, never finished
                wait_until("room made", lambda i=i: guard.shed.total == i + 1)
            assert all(closed_by_the_intake(sock) for sock in held[:15])
            assert all(still_open(sock) for sock in held[15:])
            assert server.open_connections == 5 and guard.refused.total == 0
            # a delivery among them is accepted (the oldest stalled one makes room)
            assert post(url, [event(1, 501)]).status == 200
            assert [e["eventId"] for e in stored] == [1]
            assert closed_by_the_intake(held[15]) and all(still_open(s) for s in held[16:])
            # 16 within the interval (a minute): one warning, for the first
            assert [w["count"] for w in warnings_of(caplog, "webhook_connection_shed")] == [1]
            server.stop()  # what is not logged yet is logged with its count at stop
        assert [w["count"] for w in warnings_of(caplog, "webhook_connection_shed")] == [1, 15]
        assert "MOCKBOOK_WEBHOOKS_MAX_CONNECTIONS" in caplog.text
    finally:
        for sock in held:
            sock.close()
        server.stop()


def test_a_new_connection_is_refused_only_when_every_open_one_has_a_request_in_progress(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = build_app(WebhookConfig(secret=SECRET), lambda events: {"stored": len(events)})
    server = HttpServer(app, header_timeout=600, read_timeout=600, max_connections=5)
    port = server.start()
    held: list[socket.socket] = []
    try:
        with caplog.at_level(logging.WARNING, logger="glue.sync.webhooks"):
            # five requests whose body is still coming: each has a request in progress
            held = [client(port, HEAD + b"Content-Length: 400\r\n\r\n[{") for _ in range(5)]
            wait_until(
                "five requests in progress",
                lambda: server.open_connections == 5 and server.waiting_connections == 0,
            )
            over = [client(port) for _ in range(3)]
            held += over
            assert all(closed_by_the_intake(sock) for sock in over)
            assert all(still_open(sock) for sock in held[:5])
            guard = server.guard
            assert guard is not None
            wait_until("three refusals counted", lambda: guard.refused.total == 3)
            assert guard.shed.total == 0
            assert [w["count"] for w in warnings_of(caplog, "webhook_connection_refused")] == [1]
    finally:
        for sock in held:
            sock.close()
        server.stop()


IDLE_CLIENTS = SLOW_CLIENTS = 1000
SLOW_HEAD = b"POST /webhooks/hubspot HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "  # never ends


@pytest.mark.parametrize("limit", [None, 500], ids=["default-limit", "over-the-limit"])
def test_deliveries_are_accepted_and_applied_among_1000_idle_and_1000_slow_connections(
    push_db: str, sandbox: Sandbox, limit: int | None
) -> None:
    """1,000 connections that send nothing and 1,000 that send their head a byte at a time,
    all open while HubSpot delivers: every delivery is answered 200 and applied. Under the
    default limit (4,096) they all stay open; over a limit of 500 the stalled ones oldest
    first make room, never a delivery. The timeouts are long so that the stalled clients stay."""
    raise_open_files_limit(8192)  # this process holds both ends: 4,000 descriptors and more
    fast(sandbox)
    settings, hs_client, reader = hubspot(push_db, sandbox)
    exam_ids = seed_exams(sandbox, [{"capacity": "10"} for _ in range(5)])
    with open_db(push_db) as db:
        pull(db, hs_client, settings, reader=reader)
    config = WebhookConfig(secret=SECRET, header_timeout=600, read_timeout=600)
    if limit is not None:
        config = dataclasses.replace(config, max_connections=limit)
    limit = config.max_connections
    service = WebhookService(settings, push_db, config, reader=reader)
    stop = threading.Event()
    idle: list[socket.socket] = []
    slow: list[socket.socket] = []

    def trickle() -> None:
        """One more byte of each slow client's head every 0.2 s (the scenario's pace)."""
        while not stop.wait(0.2):
            for sock in list(slow):
                try:
                    sock.send(b"a")
                except OSError:  # closed by the intake to make room
                    slow.remove(sock)

    trickler = threading.Thread(target=trickle, daemon=True)
    try:
        port = service.start()
        url = f"http://127.0.0.1:{port}{PATH}"
        guard = service.http.guard
        assert guard is not None
        idle += [client(port) for _ in range(IDLE_CLIENTS)]
        slow += [client(port, SLOW_HEAD) for _ in range(SLOW_CLIENTS)]
        trickler.start()
        stalled = IDLE_CLIENTS + SLOW_CLIENTS
        if limit >= stalled:
            wait_until("all held", lambda: service.http.open_connections == stalled)
        else:
            wait_until("all accepted", lambda: guard.shed.total == stalled - limit)
            assert service.http.open_connections == limit
        for i, exam_id in enumerate(exam_ids):
            sandbox.touch(EXAMS, exam_id, capacity=str(20 + i))
            assert post(url, [event(i + 1, exam_id)]).status == 200
        for i, exam_id in enumerate(exam_ids):
            wait_until("applied", lambda i=i, e=exam_id: exam(push_db, e)["capacity"] == 20 + i)
        assert guard.refused.total == 0 and guard.late.total == 0
        if limit >= stalled:  # none of the stalled clients was closed meanwhile
            assert all(still_open(sock) for sock in idle + slow)
    finally:
        stop.set()
        if trickler.is_alive():
            trickler.join()
        for sock in idle + slow:
            sock.close()
        service.stop()


def test_an_occasional_warning_is_logged_once_per_interval_with_its_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    warning = Occasional("over the limit", "webhook_test", interval=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="glue.sync.webhooks"):
        for _ in range(1000):
            warning.note()
            now[0] += 0.01  # 1000 in 10 s
        now[0] = 161.0
        warning.note()  # the interval is over: logged, with the 999 before it
        warning.note()
        warning.flush()
        warning.flush()  # nothing left
    assert [(w["count"], w["seconds"]) for w in warnings_of(caplog, "webhook_test")] == [
        (1, 0.0),
        (1000, 61.0),
        (1, 0.0),
    ]
    assert warning.total == 1002


# The intake in a process of its own, whose open-files limit is lowered (after it started) to a
# few more than it has open: accept() fails with EMFILE while the slow clients hold those.
OUT_OF_FDS = textwrap.dedent(
    """
    import json, logging, os, resource, sys
    from glue.sync.webhook_server import HttpServer
    from glue.sync.webhooks import WebhookConfig, build_app

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    stored = []

    def store(events):
        stored.extend(events)
        return {"stored": len(events), "duplicates": 0}

    app = build_app(WebhookConfig(secret=sys.argv[1]), store)
    server = HttpServer(
        app, header_timeout=1.0, read_timeout=1.0, max_connections=500, log_interval=3600
    )
    port = server.start()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 6, hard))
    print(port, flush=True)
    sys.stdin.readline()
    server.stop()
    print(json.dumps({"stored": len(stored), "exhausted": server.guard.exhausted.total}))
    """
)


def test_out_of_file_descriptors_the_intake_pauses_accept_and_logs_it_once_per_interval() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", OUT_OF_FDS, SECRET],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    slow: list[socket.socket] = []
    try:
        assert proc.stdout is not None and proc.stdin is not None
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}{PATH}"
        slow = [client(port, HEAD) for _ in range(40)]  # the kernel queues what is not accepted
        assert all(closed_by_the_intake(sock) for sock in slow)
        wait_until("a delivery accepted", lambda: delivered(url, [event(1, 501)]), timeout=120)
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=300)
    finally:
        for sock in slow:
            sock.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    result = json.loads(out.strip().splitlines()[-1])
    assert result["stored"] == 1 and result["exhausted"] > 0
    lines = [line for line in err.splitlines() if "out of file descriptors" in line]
    # one line when it began, one at stop with the rest of the count (the interval is an
    # hour): not one per accept()
    assert 1 <= len(lines) <= 2, err[-3000:]
    assert "socket.accept() out of system resource" not in err


# ---- behind the documented reverse proxy --------------------------------------------------------
class DocumentedProxy:
    """The nginx block of docs/operations.md ("Behind a reverse proxy"), read from the doc and
    forwarded as nginx forwards with it: a request under the ``location`` prefix goes to the
    ``proxy_pass`` URL with the prefix replaced by its URI, every request header passed on but
    Host and Connection, then the ``proxy_set_header`` lines ($host: the Host header without its
    port; $scheme: https, the block listens with ssl; $proxy_add_x_forwarded_for: the client's
    X-Forwarded-For plus its address); a body over ``client_max_body_size`` is answered 413.
    Only the intake's port replaces the doc's (8080 may be taken here)."""

    def __init__(self, intake_port: int) -> None:
        text = (push_helpers.ROOT / "docs" / "operations.md").read_text()
        section = text[text.index("**Behind a reverse proxy.**"):]
        start = section.index("```nginx\n") + len("```nginx\n")
        block = section[start : section.index("\n```", start)]
        self.public_url = re.search(r"MOCKBOOK_WEBHOOKS_PUBLIC_URL=(\S+)", block)[1]
        self.server_name = re.search(r"^\s*server_name (\S+);", block, re.M)[1]
        self.scheme = "https" if re.search(r"^\s*listen \d+ ssl;", block, re.M) else "http"
        self.prefix = re.search(r"^\s*location (\S+) \{", block, re.M)[1]
        upstream = urlsplit(re.search(r"^\s*proxy_pass (\S+);", block, re.M)[1])
        self.upstream = upstream._replace(netloc=f"{upstream.hostname}:{intake_port}")
        self.set_headers = re.findall(r"^\s*proxy_set_header (\S+) (\S+);", block, re.M)
        size = re.search(r"^\s*client_max_body_size (\d+)m;", block, re.M)[1]
        self.max_body = int(size) * 1024 * 1024
        self.pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=10))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, method: str, target: str, headers: Any, body: bytes, client: str) -> Any:
        path, _, query = target.partition("?")
        if not path.startswith(self.prefix):
            return 404, b"not found"
        if len(body) > self.max_body:
            return 413, b"request entity too large"
        upstream_path = self.upstream.path + path[len(self.prefix) :]
        url = urlunsplit(self.upstream._replace(path=upstream_path, query=query))
        variables = {
            "$host": headers["Host"].rsplit(":", 1)[0].lower(),
            "$scheme": self.scheme,
            "$proxy_add_x_forwarded_for": ", ".join(
                [*([headers["X-Forwarded-For"]] if headers["X-Forwarded-For"] else []), client]
            ),
        }
        sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
        for name, value in self.set_headers:
            sent[name] = variables[value]
        answer = self.pool.request(method, url, body=body, headers=sent, redirect=False)
        return answer.status, answer.data

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, data = proxy.forward(
                    "POST", self.path, self.headers, body, self.client_address[0]
                )
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def deliver(self, events: list[dict[str, Any]], query: str = "") -> urllib3.BaseHTTPResponse:
        """A delivery as HubSpot sends it to the public URL: signed for it, its Host the public
        host, reaching this proxy."""
        signed_for = self.public_url + (f"?{query}" if query else "")
        body = json.dumps(events).encode()
        ts = str(int(time.time() * 1000))
        headers = {
            "Host": self.server_name,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_v3(SECRET, "POST", signed_for, body, ts),
            TIMESTAMP_HEADER: ts,
        }
        target = urlsplit(self.public_url).path + (f"?{query}" if query else "")
        return HTTP.request(
            "POST", f"http://127.0.0.1:{self.port}{target}", body=body, headers=headers
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.pool.clear()


def test_a_delivery_through_the_documented_nginx_block_is_accepted_with_the_public_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stored: list[dict[str, Any]] = []

    def store(events: list[dict[str, Any]]) -> dict[str, int]:
        stored.extend(events)
        return {"stored": len(events), "duplicates": 0}

    servers: list[HttpServer] = []
    proxies: list[DocumentedProxy] = []

    def behind_proxy(public_url: str | None) -> DocumentedProxy:
        server = HttpServer(build_app(WebhookConfig(secret=SECRET, public_url=public_url), store))
        servers.append(server)
        proxies.append(DocumentedProxy(server.start()))
        return proxies[-1]

    try:
        documented = DocumentedProxy(0)  # the doc's public URL, for the intake's setting
        documented.close()
        assert urlsplit(documented.public_url).path != documented.upstream.path  # rewritten
        proxy = behind_proxy(documented.public_url)
        assert proxy.deliver([event(1, 501)]).status == 200
        assert proxy.deliver([event(2, 502)], query="portal=4242424").status == 200
        assert [e["eventId"] for e in stored] == [1, 2]
        # Without the public URL the intake checks the URL it is reached at, which the forwarded
        # headers make the public scheme and host (not http://127.0.0.1:port) with the proxied
        # path: refused, and its log names that URI beside the one HubSpot signed.
        bare = behind_proxy(None)
        with caplog.at_level(logging.WARNING, logger="glue.sync.webhooks"):
            assert bare.deliver([event(3, 503)]).status == 401
        checked = [w["uri"] for w in warnings_of(caplog, "webhook_refused")]
        host = urlsplit(documented.public_url).hostname
        assert checked == [f"https://{host}{documented.upstream.path}"]
        assert [e["eventId"] for e in stored] == [1, 2]
    finally:
        for proxy in proxies:
            proxy.close()
        for server in servers:
            server.stop()


# ---- the database down --------------------------------------------------------------------------
def _admin(url: str, statement: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(statement)


def _health(base: str) -> tuple[int, dict[str, Any]]:
    answer = HTTP.request("GET", f"{base}/healthz")
    return answer.status, answer.json()


@pytest.fixture
def intake_on(push_db: str) -> Iterator[Callable[[str], tuple[str, Database, EventStore]]]:
    """``intake_on(database url)`` -> (base URL, the intake's pool, its store): the intake as
    WebhookService wires it (a 2 s wait for a connection, a 2 s connect timeout)."""
    started: list[tuple[HttpServer, Database, EventStore]] = []

    def start(url: str) -> tuple[str, Database, EventStore]:
        db = Database(url, wait_seconds=STORE_WAIT_SECONDS, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        store = EventStore(db, probe_seconds=0.1)
        app = build_app(WebhookConfig(secret=SECRET), store.store, health=store.health)
        server = HttpServer(app)
        started.append((server, db, store))
        store.check_in_background()
        return f"http://127.0.0.1:{server.start()}", db, store

    yield start
    for server, db, store in started:
        server.stop()
        store.close()
        db.close()


def test_a_database_gone_answers_503_at_once_and_healthz_says_so_until_it_is_back(
    push_db: str, intake_on: Callable[[str], tuple[str, Database, EventStore]]
) -> None:
    base, db, _store = intake_on(push_db)
    url = base + PATH
    assert _health(base) == (200, {"status": "ok", "database": "up"})
    assert post(url, [event(1, 501)]).status == 200
    name = urlsplit(push_db).path.lstrip("/")
    _admin(push_db, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    _admin(
        push_db,
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
    )
    try:
        # the pool's connection is gone: this delivery finds out, and the database is down
        assert post(url, [event(2, 502)]).status == 503
        status, body = _health(base)
        assert status == 503 and body["database"] == "down" and body["message"]
        asked = db.pool.get_stats()["requests_num"]
        answer = post(url, [event(3, 503)])
        assert answer.status == 503 and answer.json()["database"] == "down"
        # answered without asking the pool for a connection (it would wait for one)
        assert db.pool.get_stats()["requests_num"] == asked
    finally:
        _admin(push_db, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    wait_until("the database back", lambda: _health(base)[0] == 200)
    wait_until("a delivery stored", lambda: delivered(url, [event(4, 504)]))
    assert sorted(stored_ids(push_db)) == [1, 4]


def test_a_database_unreachable_from_the_start_answers_503_at_once(
    intake_on: Callable[[str], tuple[str, Database, EventStore]],
) -> None:
    base, db, store = intake_on(f"postgresql://mockbook@127.0.0.1:{closed_port()}/mockbook")
    wait_until("the database known down", lambda: store.down)
    status, body = _health(base)
    assert status == 503 and body["status"] == "unavailable" and body["database"] == "down"
    answer = post(base + PATH, [event(1, 501)])
    assert answer.status == 503 and answer.json()["database"] == "down"
    assert db.pool.get_stats().get("requests_num", 0) == 0, "no wait for the pool"
    # the signature and URL can still be checked: the test delivery needs no database
    assert check_intake(base + PATH, SECRET).ok


def test_the_service_reports_its_database_up_and_passes_its_limits_to_the_server(
    push_db: str, sandbox: Sandbox
) -> None:
    settings, _, reader = hubspot(push_db, sandbox)
    config = WebhookConfig.from_env(
        {"HUBSPOT_CLIENT_SECRET": SECRET, "MOCKBOOK_WEBHOOKS_MAX_CONNECTIONS": "7"},
    )
    assert (config.max_connections, config.header_timeout, config.read_timeout) == (7, 10, 10)
    service = WebhookService(settings, push_db, config, reader=reader)
    port = service.start()
    try:
        base = f"http://127.0.0.1:{port}"
        assert _health(base) == (200, {"status": "ok", "database": "up"})
        guard = service.http.guard
        assert guard is not None and (guard.max_connections, guard.header_timeout) == (7, 10)
        assert check_intake(base + PATH, SECRET).ok
        assert stored_ids(push_db) == [], "a test delivery is not stored"
    finally:
        service.stop()


# ---- mockbook webhooks check --------------------------------------------------------------------
class Intake:
    """An intake (events kept in a list) whose public URL may name the port it listens on."""

    def __init__(self, public: str | None = None, secret: str = SECRET) -> None:
        self.stored: list[dict[str, Any]] = []
        self.app: Any = None

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

        self.server = HttpServer(app)
        self.port = self.server.start()
        public_url = public.format(port=self.port) if public else None
        config = WebhookConfig(secret=secret, public_url=public_url)
        self.app = build_app(config, self._store)

    def _store(self, events: list[dict[str, Any]]) -> dict[str, int]:
        self.stored.extend(events)
        return {"stored": len(events), "duplicates": 0}


@pytest.fixture
def check(monkeypatch, capsys) -> Callable[..., tuple[int, str, str]]:
    """``check(*args, **env)``: `mockbook webhooks check ARGS` -> (exit code, stdout, stderr)."""
    for name in ("MOCKBOOK_WEBHOOKS_PUBLIC_URL", "HUBSPOT_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str, **env: str) -> tuple[int, str, str]:
        full = {"HUBSPOT_CLIENT_SECRET": SECRET} | env
        return push_helpers.run_main(["webhooks", "check", *args], full, monkeypatch, capsys)

    return run


def test_check_passes_when_the_public_url_reaches_the_intake_with_a_matching_signature(
    check: Callable[..., tuple[int, str, str]],
) -> None:
    intake = Intake()
    try:
        public = f"http://127.0.0.1:{intake.port}{PATH}"
        code, out, err = check(MOCKBOOK_WEBHOOKS_PUBLIC_URL=public)
        assert code == 0, err
        assert "accepted the signed test delivery" in out
        code, out, _ = check("--json", "--url", public)
        assert code == 0 and json.loads(out) | {"message": ""} == {
            "ok": True,
            "url": public,
            "message": "",
        }
        assert intake.stored == [], "nothing is stored"
    finally:
        intake.server.stop()


@pytest.mark.parametrize(
    ("public", "secret", "why"),
    [
        ("https://127.0.0.1:{port}/webhooks/hubspot", SECRET, "http vs https"),
        ("http://hooks.example.com/webhooks/hubspot", SECRET, "another host"),
        (None, "another-secret", "another secret"),
    ],
    ids=["scheme", "host", "secret"],
)
def test_check_fails_on_401_when_the_signed_url_or_the_secret_differs(
    check: Callable[..., tuple[int, str, str]], public: str | None, secret: str, why: str
) -> None:
    intake = Intake(public, secret)
    try:
        code, out, err = check("--url", f"http://127.0.0.1:{intake.port}{PATH}")
        assert code == 1, why
        assert out == "" and "refused the signature (401" in err
        assert "MOCKBOOK_WEBHOOKS_PUBLIC_URL" in err and "http vs https" in err
    finally:
        intake.server.stop()


def test_check_fails_on_404_when_the_path_is_not_the_intakes(
    check: Callable[..., tuple[int, str, str]],
) -> None:
    intake = Intake()
    try:
        code, _, err = check("--url", f"http://127.0.0.1:{intake.port}/hooks/hubspot")
        assert code == 1 and "404, no intake on this path" in err
    finally:
        intake.server.stop()


def test_check_fails_when_the_url_is_unreachable(
    check: Callable[..., tuple[int, str, str]],
) -> None:
    code, _, err = check("--url", f"http://127.0.0.1:{closed_port()}{PATH}")
    assert code == 1 and "is unreachable" in err and "refused" in err.lower()


def test_check_fails_when_something_else_answers_200(
    check: Callable[..., tuple[int, str, str]],
) -> None:
    async def anything(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    other = HttpServer(anything)
    port = other.start()
    try:
        code, _, err = check("--url", f"http://127.0.0.1:{port}{PATH}")
        assert code == 1 and "not as the mockbook intake does" in err
    finally:
        other.stop()


def test_check_needs_a_url_and_a_secret(check: Callable[..., tuple[int, str, str]]) -> None:
    code, _, err = check()
    assert code == 2 and "MOCKBOOK_WEBHOOKS_PUBLIC_URL" in err
    code, _, err = check("--url", f"http://127.0.0.1:1{PATH}", HUBSPOT_CLIENT_SECRET="")
    assert code == 2 and "HUBSPOT_CLIENT_SECRET" in err
