"""HubSpot webhook intake (issue 17): HubSpot's changes reach Postgres in seconds, the pull stays
the safety net.

Three parts, each usable alone:

- **The signature** (:func:`sign_v3`, :func:`check_signature`). HubSpot signs every delivery
  with ``X-HubSpot-Signature-v3``: base64 of HMAC-SHA256, keyed with the app's client secret, of
  ``method + URI + body + timestamp`` (the ``X-HubSpot-Request-Timestamp`` header, epoch ms), the
  URI being the full URL HubSpot posted to with the URL-encoded characters of HubSpot's table
  decoded; a request whose timestamp is older than 5 minutes must be refused.
  https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
  (legacy apps: https://developers.hubspot.com/docs/api/webhooks/validating-requests;
  announcement: https://developers.hubspot.com/changelog/introducing-version-3-of-webhook-signatures).
  Behind a reverse proxy the URL the server sees is not the one HubSpot signed: the public one
  is configured (``MOCKBOOK_WEBHOOKS_PUBLIC_URL``).
- **The intake** (:func:`build_app`, a Starlette app served by uvicorn): ``POST`` of a delivery
  -> 401 when the signature is missing, forged or stale; 400 when the body is not a JSON array of
  1..100 events (HubSpot sends at most 100 events per request,
  https://developers.hubspot.com/docs/api/webhooks); else the events are stored in
  ``webhook_events`` (``store_webhook_events``, deduplicated: HubSpot delivers at least once and
  retries a delivery that got no 2xx) and the answer is 200 at once (HubSpot waits 5 s for it);
  503 when the database cannot store them, so HubSpot retries. Nothing is applied before the
  answer: a crash after it loses nothing.
- **The processor** (:class:`WebhookProcessor`): claims stored events (leased, so a killed
  processor's events come back), and applies them the way the pull does: the objects the events
  name are **read again from HubSpot by id** (one batch read per 100) and handed to the pull's
  ``Puller.apply`` (``apply_pulled_exams`` / ``apply_pulled_contacts``: same merge rules, origin
  ``hubspot``, so nothing is echoed to the outbox). Reading the current state makes the order
  and the number of deliveries irrelevant: a late ``propertyChange`` that says capacity 10 after
  one that said 12 still applies what HubSpot holds now. Exams HubSpot no longer returns
  (deleted, or merged away) are deactivated like archived ones; a contact deleted in HubSpot is
  left in Postgres (its bookings and credit ledger stay; ``mockbook reconcile`` reports it).
  Events of other object types (bookings: Postgres owns them) are marked processed and ignored.
  Then the Redis keys of the exams and contacts touched are brought up to date. A HubSpot
  failure leaves the events pending (due again after a backoff, given up after 10 attempts: the
  pull reads every changed record anyway).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import psycopg
import uvicorn
from psycopg.types.json import Jsonb
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from glue.cache import CacheKeeper, Change
from glue.config import ConfigError, Settings
from glue.db import Database
from glue.hubspot import CONTACTS, MAX_BATCH, HubSpotClient, HubSpotError
from glue.hubspot_read import HubSpotReader
from glue.logs import fields
from glue.pull import Puller, TargetStats, targets
from glue.ratelimit import RateLimiter

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000  # HubSpot: reject a request whose timestamp is older than 5 minutes
MAX_EVENTS = 100  # HubSpot sends at most 100 events in one request
DEFAULT_PATH = "/webhooks/hubspot"
WEBHOOK_ACTOR = "hubspot:webhook"
CLAIM_LIMIT = 500
LEASE_SECONDS = 60
MAX_ATTEMPTS = 10
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

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        public_url: str | None = None,
        path: str | None = None,
    ) -> WebhookConfig:
        """``HUBSPOT_CLIENT_SECRET`` (or ``HUBSPOT_APP_SECRET``), ``MOCKBOOK_WEBHOOKS_PUBLIC_URL``
        and ``MOCKBOOK_WEBHOOKS_PATH``; ConfigError (exit 2) without a secret or with a
        malformed URL or path."""
        env = os.environ if env is None else env
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
        return cls(secret=secret, public_url=public_url, path=path)


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
class EventStore:
    """The intake's one database call: store a delivery (``store_webhook_events``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def store(self, events: list[dict[str, Any]]) -> dict[str, int]:
        with self.db.pool.connection() as conn:
            row = conn.execute(
                "SELECT hubspot_sync.store_webhook_events(p_events => %(e)s) AS r",
                {"e": Jsonb(events)},
            ).fetchone()
        return dict(row["r"])


def _malformed(events: Any) -> str | None:
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        return f"the body must be a JSON array of 1 to {MAX_EVENTS} events"
    for event in events:
        if not isinstance(event, dict):
            return "every event must be a JSON object"
        if not isinstance(event.get("eventId"), int) or not isinstance(
            event.get("occurredAt"), int
        ):
            return "every event needs a numeric eventId and occurredAt"
        if event.get("objectId") in (None, "") or not event.get("subscriptionType"):
            return "every event needs an objectId and a subscriptionType"
    return None


def build_app(
    config: WebhookConfig,
    store: Callable[[list[dict[str, Any]]], dict[str, int]],
    *,
    on_stored: Callable[[], None] | None = None,
) -> Starlette:
    """The intake: ``POST {config.path}`` (see the module docstring) and ``GET /healthz``."""

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
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
            log.warning(
                "webhook refused: %s", problem, extra=fields(event="webhook_refused", why=problem)
            )
            return JSONResponse({"error": "unauthorized", "message": problem}, status_code=401)
        try:
            events = json.loads(body)
        except ValueError:
            events = None
        problem = _malformed(events)
        if problem is not None:
            return JSONResponse({"error": "bad_request", "message": problem}, status_code=400)
        try:
            result = await run_in_threadpool(store, events)
        except (psycopg.Error, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.warning("webhook not stored (HubSpot will retry): %s", first)
            return JSONResponse({"error": "unavailable", "message": first}, status_code=503)
        if on_stored is not None:
            on_stored()
        return JSONResponse(result, status_code=200)

    async def healthz(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route(config.path, receive, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


class HttpServer:
    """uvicorn serving an ASGI app in a background thread (``start()`` -> the bound port,
    ``stop()``): the intake alone (``mockbook webhooks serve``) or beside the worker."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._app = app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app, log_level="warning", lifespan="off", access_log=False, timeout_keep_alive=30
        )
        self._server = uvicorn.Server(config)
        # Not the main thread: uvicorn installs no signal handlers; the caller owns SIGTERM.
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[sock])),  # type: ignore[union-attr]
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

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None


# ---- the processor ------------------------------------------------------------------------------
@dataclass
class ProcessStats:
    """What one :meth:`WebhookProcessor.process_once` did."""

    events: int = 0
    exams_read: int = 0
    contacts_read: int = 0
    ignored: int = 0
    failed: int = 0
    error: str | None = None
    exams: TargetStats = field(default_factory=TargetStats)
    contacts: TargetStats = field(default_factory=TargetStats)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "exams_read": self.exams_read,
            "contacts_read": self.contacts_read,
            "ignored": self.ignored,
            "failed": self.failed,
            "error": self.error,
            "exams": self.exams.as_dict(),
            "contacts": self.contacts.as_dict(),
        }


def _ids_of(event: dict[str, Any]) -> list[str]:
    """The objects an event is about: its objectId, and a merge's primary and merged ids."""
    payload = event["payload"]
    ids = [str(event["object_id"])]
    for key in ("primaryObjectId", "newObjectId"):
        if payload.get(key) not in (None, ""):
            ids.append(str(payload[key]))
    ids.extend(str(i) for i in payload.get("mergedObjectIds") or [])
    return ids


class WebhookProcessor:
    """Applies stored webhook events (see the module docstring). ``process_once()`` does one
    batch; ``run(stop)`` loops, woken by ``wake()`` (the intake calls it after each delivery) or
    every ``poll_seconds`` (events left by a crash, events due again after a failure)."""

    def __init__(
        self,
        db: Database,
        reader: HubSpotReader,
        settings: Settings,
        *,
        keeper: CacheKeeper | None = None,
        cache_conn: Callable[[], psycopg.Connection] | None = None,
        poll_seconds: float = 5.0,
        lease_seconds: int = LEASE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = db
        self.reader = reader
        self.settings = settings
        self.keeper = keeper
        self._cache_conn_factory = cache_conn
        self._cache_conn: psycopg.Connection | None = None
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        # One read attempt: a failed batch is tried again by its events' own backoff.
        self.puller = Puller(db, reader, actor=WEBHOOK_ACTOR, sleep=sleep, fetch_attempts=1)
        self.targets = targets(settings)
        self._wake = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    # ---- the database calls ---------------------------------------------------------------
    def _claim(self) -> list[dict[str, Any]]:
        with self.db.pool.connection() as conn:
            return conn.execute(
                "SELECT * FROM hubspot_sync.claim_webhook_events("
                "p_limit => %(n)s, p_lease_seconds => %(l)s)",
                {"n": CLAIM_LIMIT, "l": self.lease_seconds},
            ).fetchall()

    def _finish(self, ids: Sequence[int], error: str | None = None) -> None:
        if not ids:
            return
        with self.db.pool.connection() as conn:
            conn.execute(
                "SELECT hubspot_sync.finish_webhook_events(p_ids => %(ids)s::bigint[], "
                "p_error => %(e)s, p_max_attempts => %(m)s)",
                {"ids": list(ids), "e": error, "m": MAX_ATTEMPTS},
            )

    # ---- one batch ------------------------------------------------------------------------
    def process_once(self) -> ProcessStats:
        stats = ProcessStats()
        events = self._claim()
        stats.events = len(events)
        if not events:
            return stats
        exams_type = self.settings.exams_object_type
        by_type: dict[str, list[dict[str, Any]]] = {exams_type: [], CONTACTS: []}
        ignored = []
        for event in events:
            if event["object_type_id"] in by_type:
                by_type[event["object_type_id"]].append(event)
            else:
                ignored.append(event["id"])
        stats.ignored = len(ignored)
        self._finish(ignored)
        changes: list[Change] = []
        for type_id, name in ((exams_type, "exams"), (CONTACTS, "contacts")):
            batch = by_type[type_id]
            if not batch:
                continue
            try:
                changes += self._apply(name, batch, stats)
            except HubSpotError as exc:
                stats.failed += len(batch)
                stats.error = f"{name}: {exc}"
                log.warning(
                    "webhook events of %s not applied (%s): tried again later",
                    name,
                    exc,
                    extra=fields(event="webhook_failed", target=name, error=str(exc)),
                )
                self._finish([e["id"] for e in batch], str(exc))
                continue
            self._finish([e["id"] for e in batch])
        if changes:
            self._refresh_cache(changes)
        return stats

    def _apply(self, name: str, batch: list[dict[str, Any]], stats: ProcessStats) -> list[Change]:
        target = self.targets[name]
        ids = list(dict.fromkeys(i for event in batch for i in _ids_of(event)))
        records = []
        for start in range(0, len(ids), MAX_BATCH):
            chunk = ids[start : start + MAX_BATCH]
            records += self.puller._fetch(
                lambda c=chunk: self.reader.read(
                    target.object_type, c, properties=target.properties
                )
            )
        found = {r["id"] for r in records}
        gone = [i for i in ids if i not in found]
        if name == "exams":
            stats.exams_read += len(records)
            # An exam HubSpot no longer returns was deleted (archived) or merged away.
            records += [{"id": i, "properties": {}, "archived": True} for i in gone]
            target_stats = stats.exams
        else:
            stats.contacts_read += len(records)
            target_stats = stats.contacts
        if records:
            self.puller.apply(target, records, target_stats)
        if name == "exams":
            return [Change(0, "hubspot_mock_exams", "UPDATE", None, {"hubspot_id": i}) for i in ids]
        # A contact's booking list key only goes stale when the contact appears or disappears.
        lifecycle = {
            str(e["object_id"])
            for e in batch
            if not str(e["subscription_type"]).endswith(".propertyChange")
        }
        return [
            Change(0, "hubspot_contact_credits", "DELETE", {"hubspot_id": i}, None)
            for i in ids
            if i in lifecycle or i in gone
        ]

    def _refresh_cache(self, changes: list[Change]) -> None:
        if self.keeper is None or self._cache_conn_factory is None:
            return
        try:
            if self._cache_conn is None or self._cache_conn.closed:
                self._cache_conn = self._cache_conn_factory()
            self.keeper.apply_changes(self._cache_conn, changes)
        except psycopg.Error as exc:
            log.warning("webhooks: the Redis keys were not updated (%s)", exc)
            with contextlib.suppress(Exception):
                if self._cache_conn is not None:
                    self._cache_conn.close()
            self._cache_conn = None

    # ---- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Process until ``stop`` is set; database and HubSpot failures are logged and retried."""
        delay = 0.0
        while not stop.is_set():
            self._wake.wait(timeout=delay if delay else self.poll_seconds)
            self._wake.clear()
            if stop.is_set():
                break
            try:
                while not stop.is_set():
                    stats = self.process_once()
                    if stats.events:
                        log.info(
                            "webhooks: %d event(s) applied (%d exam(s), %d contact(s) read)",
                            stats.events - stats.failed,
                            stats.exams_read,
                            stats.contacts_read,
                            extra=fields(
                                event="webhooks",
                                **{
                                    k: v
                                    for k, v in stats.as_dict().items()
                                    if not isinstance(v, dict)
                                },
                            ),
                        )
                    if stats.events < CLAIM_LIMIT:
                        break
                delay = 0.0
            except psycopg.Error as exc:
                delay = min(max(delay * 2, 1.0), 30.0)
                log.warning("webhooks: database unavailable (%s); again in %.0f s", exc, delay)

    def close(self) -> None:
        if self._cache_conn is not None:
            with contextlib.suppress(Exception):
                self._cache_conn.close()
            self._cache_conn = None


# ---- intake and processor together --------------------------------------------------------------
class WebhookService:
    """The intake server and its processor thread over one database pool: what
    ``mockbook webhooks serve`` runs, and ``mockbook worker --webhooks HOST:PORT`` beside the
    worker. ``start()`` returns the bound port; ``stop()`` (or the ``stop`` event) ends both."""

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
    ) -> None:
        self.stop_event = stop or threading.Event()
        if reader is None:
            # ``limiter``: the worker's, so that one process spends one HubSpot budget.
            client = HubSpotClient.from_settings(settings)
            if limiter is not None:
                client.limiter = limiter
            reader = HubSpotReader(client)
        self.db = Database(url, max_size=4, application_name="mockbook-webhooks")
        keeper = CacheKeeper(settings.redis_url) if settings.redis_url else None
        self.processor = WebhookProcessor(
            self.db,
            reader,
            settings,
            keeper=keeper,
            cache_conn=lambda: psycopg.connect(
                url, autocommit=True, application_name="mockbook-webhooks"
            ),
            poll_seconds=poll_seconds,
        )
        self.keeper = keeper
        app = build_app(config, EventStore(self.db).store, on_stored=self.processor.wake)
        self.http = HttpServer(app, host, port)
        self._thread: threading.Thread | None = None

    def start(self) -> int:
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
        if self.keeper is not None:
            self.keeper.close()
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
    from glue.pull import CONTACT_PROPERTIES, EXAM_PROPERTIES

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
    return out
