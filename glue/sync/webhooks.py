"""HubSpot webhook intake: HubSpot's changes reach Postgres in seconds, the pull stays
the safety net.
Three parts, each usable alone (detailed after the imports): the signature check, the event
store, and the Starlette app served by uvicorn.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from glue.cache import CacheKeeper
from glue.config import WEBHOOKS_PATH, ConfigError, Settings
from glue.db.connection import Layout, connect
from glue.db.database import Database
from glue.hubspot import wire
from glue.hubspot.client import CONTACTS, HubSpotClient
from glue.hubspot.ratelimit import RateLimiter
from glue.hubspot.reads import HubSpotReader
from glue.logs import fields
from glue.sync.portal import PortalGate
from glue.sync.webhook_apply import WebhookProcessor
from glue.sync.webhook_server import HttpServer
from glue.sync.webhook_store import (
    CONNECT_TIMEOUT_SECONDS,
    STORE_WAIT_SECONDS,
    DatabaseDown,
    EventStore,
    first_line,
)

# the intake's parts, importable from here as before
__all__ = ["DatabaseDown", "EventStore", "HttpServer"]

# How it works (the detail of the module docstring):
#
# - **The signature** (:func:`sign_v3`, :func:`check_signature`). HubSpot signs every delivery
#   with ``X-HubSpot-Signature-v3``: base64 of HMAC-SHA256, keyed with the app's client secret, of
#   ``method + URI + body + timestamp`` (the ``X-HubSpot-Request-Timestamp`` header, epoch ms), the
#   URI being the full URL HubSpot posted to with the URL-encoded characters of HubSpot's table
#   decoded; a request whose timestamp is older than 5 minutes must be refused.
#   https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
#   (legacy apps: https://developers.hubspot.com/docs/api/webhooks/validating-requests;
#   announcement: https://developers.hubspot.com/changelog/introducing-version-3-of-webhook-signatures).
#   Behind a reverse proxy the URL the server sees is not the one HubSpot signed: the public one
#   is configured (``MOCKBOOK_WEBHOOKS_PUBLIC_URL``).
# - **The intake** (:func:`build_app`, a Starlette app served by uvicorn): ``POST`` of a delivery
#   -> 413 when the body is over ``MAX_BODY_BYTES`` (1 MiB; it is read no further, so no sender
#   can make the intake buffer more); 401 when the signature is missing, forged or stale; 400
#   when the body is not a JSON array of 1..100 events (HubSpot sends at most 100 events per
#   request, https://developers.hubspot.com/docs/api/webhooks); else the events are stored in
#   ``webhook_events`` (``store_webhook_events``, deduplicated: HubSpot delivers at least once and
#   retries a failed delivery) and the answer is 200 at once (HubSpot waits 5 s for it);
#   503 when the database cannot store them, so HubSpot retries (it retries connection failures,
#   timeouts and 5xx, never 400/401/403/404/405:
#   https://developers.hubspot.com/docs/methods/webhooks/webhooks-overview): at once while it is
#   known to be down (:class:`EventStore`: no wait for the pool), and ``GET /healthz`` says so
#   (503, ``{"database": "down"}``). Nothing is applied before the answer: a crash after it loses
#   nothing. A signed test delivery (one event of type ``mockbook.check``, sent by ``mockbook
#   webhooks check``) is answered 200 with its ``checkId`` and nothing stored. The HTTP server
#   (glue.sync.webhook_server) closes slow clients and connections over its limit.
# - **The processor** (:class:`glue.sync.webhook_apply.WebhookProcessor`): applies the stored events
#   through the pull's functions, after reading the objects again from HubSpot.

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000  # HubSpot: reject a request whose timestamp is older than 5 minutes
MAX_EVENTS = 100  # HubSpot sends at most 100 events in one request
# 100 events are a few tens of kB; a larger body is not HubSpot's, refused (413) unread
MAX_BODY_BYTES = 1024 * 1024
DEFAULT_PATH = WEBHOOKS_PATH.default
CHECK_TYPE = "mockbook.check"  # the subscriptionType of `mockbook webhooks check`'s delivery
# HubSpot's v3 validation decodes these URL-encoded characters of the URI before signing.
_URI_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


# ---- configuration ------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookConfig:
    """The intake's settings: from the environment, flags override."""

    secret: str
    public_url: str | None = None  # the target URL registered in HubSpot (behind a proxy)
    path: str = DEFAULT_PATH
    max_age_ms: int = MAX_AGE_MS
    header_timeout: float = Settings.webhooks_header_timeout_seconds
    read_timeout: float = Settings.webhooks_read_timeout_seconds
    max_connections: int = Settings.webhooks_max_connections

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        public_url: str | None = None,
        path: str | None = None,
        settings: Settings | None = None,
    ) -> WebhookConfig:
        """``HUBSPOT_CLIENT_SECRET`` (or ``HUBSPOT_APP_SECRET``), ``MOCKBOOK_WEBHOOKS_PUBLIC_URL``
        and ``MOCKBOOK_WEBHOOKS_PATH``, the timeouts and the connection limit from ``settings``
        (else read from ``env``); ConfigError (exit 2) without a secret or with a malformed URL
        or path."""
        env = os.environ if env is None else env
        settings = Settings.from_env(env) if settings is None else settings
        secret = env.get("HUBSPOT_CLIENT_SECRET") or env.get("HUBSPOT_APP_SECRET")
        if not secret:
            raise ConfigError(
                "HUBSPOT_CLIENT_SECRET is not set: the webhook intake needs the app's client "
                "secret to check HubSpot's signatures"
            )
        public_url = public_url or env.get("MOCKBOOK_WEBHOOKS_PUBLIC_URL") or None
        path = path or env.get("MOCKBOOK_WEBHOOKS_PATH") or DEFAULT_PATH
        if public_url is not None:
            parts = urlsplit(public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(
                    f"MOCKBOOK_WEBHOOKS_PUBLIC_URL must be an http(s) URL, got {public_url!r}"
                )
        if not path.startswith("/"):
            raise ConfigError(f"MOCKBOOK_WEBHOOKS_PATH must start with '/', got {path!r}")
        return cls(
            secret=secret,
            public_url=public_url,
            path=path,
            header_timeout=settings.webhooks_header_timeout_seconds,
            read_timeout=settings.webhooks_read_timeout_seconds,
            max_connections=settings.webhooks_max_connections,
        )


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, or ``PORT``) -> (host, port); ConfigError when malformed."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"--webhooks must be HOST:PORT, got {value!r}")
    return host, int(port)


# ---- the signature ------------------------------------------------------------------------------
def signed_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the characters of its table decoded."""
    for encoded, char in _URI_DECODE.items():
        uri = uri.replace(encoded, char).replace(encoded.lower(), char)
    return uri


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """``X-HubSpot-Signature-v3`` of a request (see the module docstring for the source)."""
    message = method.upper().encode() + signed_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_signature(
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now_ms: int | None = None,
    max_age_ms: int = MAX_AGE_MS,
) -> str | None:
    """None when the request is HubSpot's, else why it is refused."""
    if not signature or not timestamp:
        return f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}"
    if not timestamp.isdigit():
        return f"{TIMESTAMP_HEADER} is not epoch milliseconds"
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if now_ms - int(timestamp) > max_age_ms:
        return "stale: the timestamp is older than 5 minutes"
    if int(timestamp) - now_ms > max_age_ms:
        return "the timestamp is in the future"
    expected = sign_v3(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return "the signature does not match"
    return None


# ---- the intake ---------------------------------------------------------------------------------
def _bad_request(message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "message": message, **extra}, status_code=400)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None as soon as it is known to be over ``limit`` bytes (by its
    Content-Length, else while it streams in): never more than ``limit`` bytes are held."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _is_check(events: Any) -> bool:
    return (
        isinstance(events, list)
        and len(events) == 1
        and isinstance(events[0], dict)
        and events[0].get("subscriptionType") == CHECK_TYPE
    )


def _unavailable(message: str, **extra: str) -> JSONResponse:
    return JSONResponse({"error": "unavailable", "message": message, **extra}, status_code=503)


def _signature_problem(config: WebhookConfig, request: Request, body: bytes) -> str | None:
    """Why a delivery's signature does not hold (logged), or None. The URI checked is the one
    HubSpot signed: the public URL (with the request's query) behind a reverse proxy."""
    uri = config.public_url or str(request.url)
    if config.public_url and request.url.query and "?" not in config.public_url:
        uri = f"{config.public_url}?{request.url.query}"
    problem = check_signature(
        config.secret,
        request.method,
        uri,
        body,
        request.headers.get(TIMESTAMP_HEADER),
        request.headers.get(SIGNATURE_HEADER),
        max_age_ms=config.max_age_ms,
    )
    if problem is not None:
        # the URI checked is in the log (not the answer): a scheme, host or path other than
        # the one HubSpot signed is the usual cause (MOCKBOOK_WEBHOOKS_PUBLIC_URL)
        log.warning(
            "webhook refused: %s (URI checked: %s)",
            problem,
            uri,
            extra=fields(event="webhook_refused", why=problem, uri=uri),
        )
    return problem


async def _store(
    store: Callable[[list[dict[str, Any]]], dict[str, int]], events: list[dict[str, Any]]
) -> dict[str, int] | JSONResponse:
    """The store's counts, or the answer when the events could not be stored (503: HubSpot
    retries; 400: retrying would not help)."""
    try:
        return await run_in_threadpool(store, events)
    except DatabaseDown as exc:  # logged once when it went down, not per delivery
        return _unavailable(str(exc), database="down")
    except psycopg.Error as exc:
        if exc.sqlstate == "PT400":  # INVALID_ARGUMENT: retrying would not help
            detail = exc.diag.message_detail or str(exc)
            return JSONResponse({"error": "bad_request", "message": detail}, status_code=400)
        log.warning("webhook not stored (HubSpot will retry): %s", first_line(exc))
        return _unavailable(first_line(exc))
    except OSError as exc:
        log.warning("webhook not stored (HubSpot will retry): %s", first_line(exc))
        return _unavailable(first_line(exc))


def _events(body: bytes) -> tuple[list[dict[str, Any]], list[wire.RefusedEvent]] | JSONResponse:
    """A signed delivery's events, HubSpot's and refused (glue.hubspot.wire: typed and
    range-checked one by one), or the answer to give: a check's (`mockbook webhooks check`:
    signature and URL match; nothing is stored or applied) or a malformed body's (not JSON,
    too deep, not an array of 1 to 100 events: 400, nothing stored)."""
    try:
        events = wire.loads(body, max_bytes=MAX_BODY_BYTES, max_depth=wire.WEBHOOK_MAX_DEPTH)
    except wire.Malformed as exc:
        return _refused_body(f"the body {exc}")
    if _is_check(events):
        return JSONResponse({"check": "ok", "checkId": events[0].get("checkId")})
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        return _refused_body(f"the body must be a JSON array of 1 to {MAX_EVENTS} events")
    return wire.webhook_events(events)


def _refused_body(problem: str) -> JSONResponse:
    log.warning("webhook refused: %s", problem,
                extra=fields(event="webhook_refused", why=problem))
    return _bad_request(problem)


def _refused_events(
    refused: list[wire.RefusedEvent], total: int, result: dict[str, Any]
) -> JSONResponse:
    """The answer to a delivery some of whose events are malformed: 400 (HubSpot does not
    retry it, and sending the same bytes again would not help), the events that are HubSpot's
    stored all the same (``result``: the store's counts), each refused one named (logged)."""
    message = (f"{len(refused)} of {total} event(s) refused, the others stored: "
               + "; ".join(r.why for r in refused[:3]))
    log.warning("webhook: %s", message,
                extra=fields(event="webhook_refused", why=message, refused=len(refused)))
    return _bad_request(message, **result, refused=[r.as_dict() for r in refused])


async def _keep(
    events: list[dict[str, Any]],
    store: Callable[[list[dict[str, Any]]], dict[str, int]],
    admit: Callable[[list[dict[str, Any]]], tuple[list[dict[str, Any]], int]] | None,
    on_stored: Callable[[], None] | None,
) -> dict[str, Any] | JSONResponse:
    """Store the events of the database's portal (``admit``: the others are dropped and
    counted); the store's counts, or its answer when they could not be stored."""
    refused = 0
    if admit is not None and events:
        events, refused = admit(events)
    result: dict[str, Any] = {"stored": 0}
    if events:
        stored = await _store(store, events)
        if isinstance(stored, JSONResponse):
            return stored
        result = dict(stored)
        if on_stored is not None:
            on_stored()
    if refused:
        result["refused_portal"] = refused
    return result


def build_app(
    config: WebhookConfig,
    store: Callable[[list[dict[str, Any]]], dict[str, int]],
    *,
    on_stored: Callable[[], None] | None = None,
    health: Callable[[], str | None] | None = None,
    admit: Callable[[list[dict[str, Any]]], tuple[list[dict[str, Any]], int]] | None = None,
) -> Starlette:
    """The intake: ``POST {config.path}`` (see the module docstring) and ``GET /healthz``
    (``health``: None when the database answers, else why not; without it, always 200).
    ``admit`` is the portal gate (glue.sync.portal.PortalGate.admit): the events of another
    portal than the database's are answered 200 (HubSpot would only retry them) and dropped."""

    async def receive(request: Request) -> JSONResponse:
        try:
            body = await _read_body(request, MAX_BODY_BYTES)
        except ClientDisconnect:  # gone (or closed by the read timeout): nobody to answer
            return JSONResponse({"error": "disconnected"}, status_code=400)
        if body is None:
            problem = f"the body is over {MAX_BODY_BYTES} bytes (HubSpot sends at most 100 events)"
            log.warning(
                "webhook refused: %s", problem, extra=fields(event="webhook_refused", why=problem)
            )
            return JSONResponse({"error": "too_large", "message": problem}, status_code=413)
        problem = _signature_problem(config, request, body)
        if problem is not None:
            return JSONResponse({"error": "unauthorized", "message": problem}, status_code=401)
        typed = _events(body)
        if isinstance(typed, JSONResponse):
            return typed
        events, malformed = typed
        result = await _keep(events, store, admit, on_stored)
        if isinstance(result, JSONResponse):
            return result
        if malformed:
            return _refused_events(malformed, len(events) + len(malformed), result)
        return JSONResponse(result, status_code=200)

    async def healthz(_request: Request) -> JSONResponse:
        if health is None:
            return JSONResponse({"status": "ok"})
        try:
            down = await run_in_threadpool(health)
        except psycopg.Error as exc:  # the database answers, with an error: not healthy either
            down = first_line(exc)
        if down is not None:
            return JSONResponse(
                {"status": "unavailable", "database": "down", "message": down}, status_code=503
            )
        return JSONResponse({"status": "ok", "database": "up"})

    return Starlette(
        routes=[
            Route(config.path, receive, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


# ---- intake and processor together --------------------------------------------------------------
# The service's database connections at once (glue.db.connection.Layout): the processor's for the
# Redis keys (with REDIS_URL), the one the intake opens to see the database back while it is down,
# and the pools of the intake (its deliveries' stores) and of the processor (with the portal gate).
INTAKE_POOL, PROCESSOR_POOL = "webhook intake", "webhook processor"
WEBHOOKS_LAYOUT = Layout(
    "webhooks serve",
    own=(("the processor's Redis keys", 1), ("the intake's database check", 1)),
    pools=((INTAKE_POOL, 4), (PROCESSOR_POOL, 4)),
)
class WebhookService:
    """The intake server and its processor thread: what ``mockbook webhooks serve`` runs, and
    ``mockbook worker --webhooks HOST:PORT`` beside the worker. Each has a database pool of its
    own: the intake's waits 2 s at most for a connection (it answers within HubSpot's 5 s), and
    the processor's work never holds the connections a delivery needs. ``start()`` returns the
    bound port; ``stop()`` (or the ``stop`` event) ends both."""

    def __init__(
        self,
        settings: Settings,
        url: str,
        config: WebhookConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stop: threading.Event | None = None,
        reader: HubSpotReader | None = None,
        limiter: RateLimiter | None = None,
        poll_seconds: float = 5.0,
        pool_sizes: dict[str, int] | None = None,
    ) -> None:
        self.stop_event = stop or threading.Event()
        # the pools' sizes within MOCKBOOK_DATABASE_CONNECTIONS (WEBHOOKS_LAYOUT, or the
        # worker's layout when it runs beside the worker)
        sizes = pool_sizes or WEBHOOKS_LAYOUT.sizes(settings.database_connections)
        if reader is None:
            # ``limiter``: the worker's, so that one process spends one HubSpot budget.
            client = HubSpotClient.from_settings(settings)
            if limiter is not None:
                client.limiter = limiter
            reader = HubSpotReader(client)
        self.db = Database(url, max_size=sizes[PROCESSOR_POOL],
                           application_name="mockbook-webhooks")
        # the one portal gate (glue.sync.portal): checked at start, then on every event
        self.gate = PortalGate(self.db, reader.client, settings)
        keeper = CacheKeeper(settings.redis_url) if settings.redis_url else None
        self.processor = WebhookProcessor(
            self.db,
            reader,
            settings,
            gate=self.gate,
            keeper=keeper,
            cache_conn=lambda: connect(
                url, autocommit=True, application_name="mockbook-webhooks"
            ),
            poll_seconds=poll_seconds,
        )
        self.keeper = keeper
        self.intake_db = Database(
            url,
            max_size=sizes[INTAKE_POOL],
            application_name="mockbook-webhooks",
            wait_seconds=STORE_WAIT_SECONDS,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
        self.store = EventStore(self.intake_db)
        app = build_app(
            config,
            self.store.store,
            on_stored=self.processor.wake,
            health=self.store.health,
            admit=self.gate.admit,
        )
        self.http = HttpServer(
            app,
            host,
            port,
            header_timeout=config.header_timeout,
            read_timeout=config.read_timeout,
            max_connections=config.max_connections,
        )
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Check the portal (ConfigError when HubSpot answers for another portal than the
        database's: nothing is listened on), then serve; the bound port."""
        try:
            self.gate.check()
        except BaseException:
            self.stop()
            raise
        self.store.check_in_background()  # a database down at start answers 503 at once too
        port = self.http.start()
        self._thread = threading.Thread(
            target=self.processor.run,
            args=(self.stop_event,),
            name="mockbook-webhooks-apply",
            daemon=True,
        )
        self._thread.start()
        self.processor.wake()  # events stored before a restart are applied at once
        return port

    def stop(self) -> None:
        self.stop_event.set()
        self.processor.wake()
        self.http.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.processor.close()
        self.gate.close()
        if self.keeper is not None:
            self.keeper.close()
        self.store.close()
        self.intake_db.close()
        self.db.close()

    def __enter__(self) -> WebhookService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- the subscriptions to create in HubSpot -----------------------------------------------------
def subscriptions(settings: Settings) -> list[dict[str, str]]:
    """The webhook subscriptions the app needs (HubSpot app settings -> Webhooks, or the
    webhooks API): creation, deletion, merge and the property changes the pull reads, for
    contacts and the exams object. ``eventType`` and ``propertyName`` as HubSpot names them
    (https://developers.hubspot.com/docs/api/webhooks: custom objects use the generic
    ``object.*`` types with the object type id)."""
    from glue.sync.pull import CONTACT_PROPERTIES, EXAM_PROPERTIES

    out: list[dict[str, str]] = []
    for object_type, prefix, props in (
        (CONTACTS, "contact", CONTACT_PROPERTIES),
        (settings.exams_object_type, "object", EXAM_PROPERTIES),
    ):
        base = {"objectTypeId": object_type}
        for kind in ("creation", "deletion", "merge"):
            out.append(base | {"eventType": f"{prefix}.{kind}"})
        for prop in props:
            if prop in ("lastmodifieddate", "hs_lastmodifieddate", "total_bookings"):
                continue  # changes with every write / owned by Postgres
            out.append(base | {"eventType": f"{prefix}.propertyChange", "propertyName": prop})
    # A booking deleted in HubSpot is re-created by the push (glue.sync.webhook_apply).
    out.append({"objectTypeId": settings.bookings_object_type, "eventType": "object.deletion"})
    return out


def subscription_lines(subs: list[dict[str, str]]) -> list[str]:
    """One line per subscription: object type id, event type, and the property if any."""
    return [
        f"{sub['objectTypeId']:<12} {sub['eventType']}"
        + (f"  property {sub['propertyName']}" if "propertyName" in sub else "")
        for sub in subs
    ]
