"""The :class:`Sandbox`: a local HubSpot CRM API with fault injection and state for tests.

Per request: auth, 429 storm, rate limits, latency, then one fault draw (5xx, timeout, lost
response), then the endpoint. Every exchange is logged in ``Sandbox.requests`` and, with
``conformance=True``, checked against HubSpot's OpenAPI specs before the answer is sent.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from glue.clock import SYSTEM, Clock

from . import faults as F
from .api import Api
from .errors import (
    INTERNAL_ERROR,
    INVALID_AUTHENTICATION,
    RATE_LIMITS,
    ApiError,
    Req,
    correlation_id,
    error_body,
)
from .faults import Faults
from .ratelimit import TEN_SECONDLY, RateLimiter
from .schema import empty_portal, ready_portal
from .server import _Handler, _Server, log
from .store import DEFAULT_PORTAL_ID, FIRST_ID, Store

_SERVER_ERRORS = {500: "Internal error", 502: "Bad gateway", 503: "Service unavailable"}


class Sandbox:
    """A local HubSpot CRM API. See ``glue/sandbox/__init__.py`` for the whole API."""

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        rate_limit: int | None = 100,
        rate_window: float = 10.0,
        daily_limit: int | None = 250_000,
        search_rate: int | None = 5,
        search_lag: float = 0.0,
        conformance: bool = True,
        spec_dir: str | None = None,
        access_token: str | None = None,
        portal_id: int = DEFAULT_PORTAL_ID,
        first_id: int = FIRST_ID,
        seed: int | None = None,
        request_log_limit: int | None = 100_000,
        setup: bool = False,
        portal_timezone: str = "America/Toronto",
        prerequisite_type_id: int = 1340,
        clock: Clock = SYSTEM,
    ) -> None:
        self.host = host
        # Record times, the search lag, rate limits, storms, latency and timeouts run on it; a
        # test passes one it moves (tests/py/fakeclock.py) instead of sleeping.
        self.clock = clock
        self.port = port
        self.search_lag = search_lag
        self.access_token = access_token
        self.store = Store(portal_id, first_id, clock)
        empty_portal(self.store)
        self.prerequisite_type_id = prerequisite_type_id
        if setup:
            self.setup()
        self.api = Api(self.store, lambda: self.search_lag)
        self.limiter = RateLimiter(
            rate_limit,
            rate_window,
            daily_limit,
            search_rate,
            clock=clock.monotonic,
            timezone=portal_timezone,
            now=lambda: datetime.fromtimestamp(clock.time(), UTC),
        )
        self.faults = Faults(seed, clock)
        self.conformance = None
        if conformance:
            from .conformance import Conformance

            self.conformance = Conformance(spec_dir)
            self.conformance.preload()  # so the first calls are not slowed by parsing
        self.conformance_failures: list[str] = []
        self.errors: list[str] = []  # unexpected exceptions inside the server
        self._lock = threading.Lock()
        self._logged = threading.Condition(self._lock)  # a request arrived or was answered
        self._requests: deque[dict] = deque(maxlen=request_log_limit)
        self._stats = self._zero_stats()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> str:
        """Start serving in a background thread; returns (and sets) ``base_url``."""
        if self._server is not None:
            return self.base_url
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.sandbox = self
        self.port = self._server.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"hubspot-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving; waiting handlers (latency, timeouts) wake up and open connections close."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # ---- the request pipeline ----------------------------------------------------------------
    def _exchange(self, handler: _Handler) -> None:
        started = self.clock.time()
        method = handler.command
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if len(raw) < length:
            # The client went away before its body was all sent (a killed writer): like any HTTP
            # server, HubSpot never acts on a request it did not receive whole, so neither do we,
            # and nothing is logged or checked.
            handler.drop()
            return
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        headers = {k: v for k, v in handler.headers.items()}
        entry: dict[str, Any] = {
            "method": method,
            "path": parts.path,
            "query": query,
            "json": payload,
            "status": None,
            "response": None,
            "time": started,
            "fault": None,
        }
        with self._lock:  # logged on arrival: a request still being answered shows status None
            self._requests.append(entry)
            self._stats["calls"] += 1
            self._logged.notify_all()
        status, body, extra = self._respond(method, parts.path, query, headers, raw, payload, entry)
        fault = entry["fault"]
        out_headers = {**self.limiter.headers(), **extra}
        if self.conformance is not None:
            self._check(method, handler.path, headers, raw, status, out_headers, body)
        rewrite = self.faults.rewrite
        if rewrite is not None and status is not None:
            body = rewrite(method, parts.path, status, body)
        with self._lock:
            entry["duration"] = self.clock.time() - started
            if status is not None:
                entry["status"], entry["response"] = status, body
                by_status = self._stats["by_status"]
                by_status[status] = by_status.get(status, 0) + 1
                if status == 429:
                    self._stats["429"] += 1
            self._logged.notify_all()
        if fault in (F.TIMEOUT, F.LOST_RESPONSE):
            handler.drop()
            return
        assert status is not None
        try:
            handler.answer(status, body, out_headers)
        except OSError:  # the client went away (for instance after its own timeout)
            handler.close_connection = True

    def _fault(self, entry: dict, kind: str) -> None:
        with self._lock:
            entry["fault"] = kind
            self._stats["faults"][kind] += 1

    def _respond(
        self,
        method: str,
        path: str,
        query: dict,
        headers: dict,
        raw: bytes,
        payload: Any,
        entry: dict,
    ) -> tuple[int | None, Any, dict[str, str]]:
        """(status, body, extra headers) for one request; status None means no answer at all.
        A fault injected on the way is noted in ``entry``."""
        if self.access_token is not None:
            auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
            if auth != f"Bearer {self.access_token}":
                message = (
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication."
                    if not auth
                    else "The access token provided is invalid or has expired."
                )
                return 401, error_body(message, INVALID_AUTHENTICATION), {}
        spared = self.faults.spared(method, path)
        storm = 0.0 if spared else self.faults.storm_remaining()
        if storm > 0:
            self._fault(entry, F.STORM)
            return 429, self._rate_body(TEN_SECONDLY), {"Retry-After": _ceil(storm)}
        is_search = method == "POST" and path.rstrip("/").endswith("/search")
        decision = self.limiter.acquire(search=is_search)
        if not decision.ok:
            assert decision.policy is not None
            return (
                429,
                self._rate_body(decision.policy),
                {"Retry-After": decision.retry_after_header},
            )
        if self.faults.latency > 0 and not spared:
            self.clock.wait(self._stopping, self.faults.latency)
        kind, error_status = (None, 0) if spared else self.faults.draw()
        if kind is not None:
            self._fault(entry, kind)
        if kind == F.ERROR:
            message = _SERVER_ERRORS.get(error_status, "Internal error")
            return error_status, error_body(message, INTERNAL_ERROR), {}
        if kind == F.TIMEOUT:
            self.clock.wait(self._stopping, self.faults.timeout_seconds)
            return None, None, {}
        req = Req(query=query, body=payload, raw_chars=len(raw.decode("utf-8", "replace")))
        try:
            status, body = self.api.handle(method, path, req)
        except ApiError as exc:
            status, body = exc.status, exc.body()
        except Exception as exc:  # a bug or a failing reject_when predicate: answer 500
            log.exception("sandbox endpoint failed")
            with self._lock:
                self.errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
            status, body = 500, error_body(f"Sandbox internal error: {exc}", INTERNAL_ERROR)
        if (path.endswith("/batch/update") and isinstance(body, dict)
                and self.faults.take_omitted_result() and body.get("results")):
            # a multi-status answer missing an input: neither a result nor an error for it
            self._fault(entry, F.OMITTED_RESULT)
            body = {**body, "results": body["results"][1:], "status": "COMPLETE"}
            status = 207
        return status, body, {}

    def _rate_body(self, policy: str) -> dict:
        return {
            "status": "error",
            "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": policy,
            "category": RATE_LIMITS,
            "groupName": f"publicapi:private-app-api-calls:{self.store.portal_id}",
        }

    def _check(
        self,
        method: str,
        url: str,
        headers: dict,
        raw: bytes,
        status: int | None,
        out_headers: dict,
        body: Any,
    ) -> None:
        assert self.conformance is not None
        try:
            problems = self.conformance.check(
                method,
                url,
                None,
                headers,
                raw,
                status,
                {**out_headers, "Content-Type": "application/json"}
                if body is not None
                else out_headers,
                body,
            )
        except Exception as exc:  # never raise inside the server thread
            problems = [f"{method} {url}: conformance check crashed: {exc!r}"]
        if problems:
            with self._lock:
                self.conformance_failures.extend(problems)

    @staticmethod
    def _zero_stats() -> dict:
        return {
            "calls": 0,
            "429": 0,
            "by_status": {},
            "faults": {F.ERROR: 0, F.TIMEOUT: 0, F.LOST_RESPONSE: 0, F.STORM: 0,
                       F.OMITTED_RESULT: 0},
        }

    # ---- state for tests -------------------------------------------------------------------
    @property
    def requests(self) -> list[dict]:
        """Every request so far: method, path, query, json, status, response, time, fault."""
        with self._lock:
            return list(self._requests)

    def wait_for(self, predicate: Callable[[list[dict]], bool], timeout: float = 60.0) -> bool:
        """Block until ``predicate(requests)`` holds, checked whenever a request arrives or is
        answered (so a test waits for the traffic it expects, not for a guessed time); False
        if it still does not after ``timeout`` seconds."""
        with self._logged:
            return self._logged.wait_for(lambda: predicate(list(self._requests)), timeout)

    @property
    def stats(self) -> dict:
        """Counters: ``calls``, ``429``, ``by_status`` {status: n}, ``faults`` {kind: n}."""
        with self._lock:
            return copy.deepcopy(self._stats)

    def reset(self) -> None:
        """Forget records, associations, rules, faults, rate-limit budget, logs and counters."""
        self.store.clear()
        self.api.rules.clear()
        self.faults.reset()
        self.limiter.reset()
        with self._lock:
            self._requests.clear()
            self._stats = self._zero_stats()
            self.conformance_failures.clear()
            self.errors.clear()

    def setup(self) -> None:
        """Make this a ready portal: what `mockbook hubspot setup` creates (the bookings and
        mock-exam objects with the glue's default ids, every property, the association
        definitions and the prerequisite label), applied in-process without any API call."""
        ready_portal(self.store, self.prerequisite_type_id)

    def register_object_type(
        self, type_id: str, name: str, unique_properties: list[str] | tuple[str, ...] = ()
    ) -> None:
        self.store.register_type(type_id, name, unique_properties)

    def reject_when(
        self, type_id: str, predicate: Callable[[dict[str, str]], bool], message: str
    ) -> None:
        """Refuse every write whose resulting properties satisfy ``predicate`` (400 for a single
        call, a per-record error in batches), permanently: for dead-letter tests."""
        ot = self.api.type_of(type_id)
        self.api.rules.setdefault(ot.type_id, []).append((predicate, message))

    def objects(self, type_id: str) -> list[dict]:
        """All records of a type (archived ones too): id, properties, archived, timestamps."""
        ot = self.api.type_of(type_id)
        recs = sorted(self.store.records(ot, include_archived=True), key=lambda r: int(r.id))
        return [r.as_dict() for r in recs]

    def get(self, type_id: str, object_id: str) -> dict | None:
        ot = self.api.type_of(type_id)
        rec = self.store.get(ot, str(object_id)) or self.store.get(
            ot, str(object_id), archived=True
        )
        return None if rec is None else rec.as_dict()

    def get_by(self, type_id: str, prop: str, value: str) -> dict | None:
        """The live record whose ``prop`` equals ``value`` (first by id), or None."""
        ot = self.api.type_of(type_id)
        for rec in sorted(self.store.records(ot), key=lambda r: int(r.id)):
            if rec.properties.get(prop) == value:
                return rec.as_dict()
        return None

    def associations(self, from_type: str, from_id: str) -> list[dict]:
        """[{to_type, to_id, types: [type ids]}] for one record."""
        ot = self.api.type_of(from_type)
        return [
            {"to_type": tt, "to_id": tid, "types": ids}
            for tt, tid, ids in self.store.associated(ot.type_id, str(from_id))
        ]

    def association_type_id(self, from_type: str, to_type: str) -> int | None:
        """The default (HUBSPOT_DEFINED) association type id from one type to another."""
        return self.store.default_assoc_type(
            self.api.type_of(from_type).type_id, self.api.type_of(to_type).type_id
        )

    def define_association_label(
        self,
        from_type: str,
        to_type: str,
        type_id: int,
        label: str,
        inverse_type_id: int,
        inverse_label: str,
    ) -> None:
        """Define a paired USER_DEFINED association label (as HubSpot's labels API with an
        ``inverseLabel`` does), e.g. exam "requires attendance at" exam (1340) / "is required
        by" (its inverse)."""
        self.store.register_assoc_pair(
            self.api.type_of(from_type).type_id,
            self.api.type_of(to_type).type_id,
            type_id,
            inverse_type_id,
            label,
            inverse_label,
        )

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_ids: list[int]
    ) -> None:
        """Create associations directly (an admin linking records in HubSpot)."""
        self.store.associate(
            self.api.type_of(from_type).type_id,
            str(from_id),
            self.api.type_of(to_type).type_id,
            str(to_id),
            list(type_ids),
        )

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Remove every association between two records (an admin unlinking them)."""
        self.store.dissociate(
            self.api.type_of(from_type).type_id,
            str(from_id),
            self.api.type_of(to_type).type_id,
            str(to_id),
        )

    def archive(self, type_id: str, object_id: str) -> None:
        """Archive (delete) a record, as an admin deleting it in HubSpot."""
        ot = self.api.type_of(type_id)
        with self.store.lock:
            rec = self.store.get(ot, str(object_id))
            if rec is None:
                raise KeyError(f"{type_id} {object_id} does not exist")
            self.store.archive(ot, rec)

    def seed(
        self, type_id: str, rows: list[dict[str, Any]], *, at: datetime | None = None
    ) -> list[str]:
        """Create records directly (no API call, no rules, visible to search at once).
        ``at``: when HubSpot created them (their ``createdAt``, ``createdate`` /
        ``hs_createdate`` and last-modified date), e.g. a portal's history; default now."""
        ot = self.api.type_of(type_id)
        at_ms = None if at is None else int(at.timestamp() * 1000)
        ids = []
        with self.store.lock:
            for row in rows:
                props = {k: ("" if v is None else str(v)) for k, v in row.items()}
                ids.append(self.store.create(ot, props, at_ms=at_ms, visible_at=0.0).id)
        return ids

    def touch(self, type_id: str, object_id: str, **props: Any) -> dict:
        """Simulate an admin editing a record in HubSpot (updates its last-modified date)."""
        ot = self.api.type_of(type_id)
        with self.store.lock:
            rec = self.store.get(ot, str(object_id))
            if rec is None:
                raise KeyError(f"{type_id} {object_id} does not exist")
            values = {k: ("" if v is None else str(v)) for k, v in props.items()}
            return self.store.update(ot, rec, values).as_dict()


def _ceil(seconds: float) -> str:
    return str(max(1, int(seconds + 0.999)))
